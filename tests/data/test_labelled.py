"""Reading `label<TAB>text` files (rnnlab/data/labelled.py)."""
import pytest

from rnnlab.data.labelled import LabelledExample, read_labelled, read_labelled_dir
from rnnlab.errors import DataError, DataNotFoundError


def test_word_and_char_levels(tmp_path):
    f = tmp_path / "train.tsv"
    f.write_text("pos\ta good  film\n\nneg\tdull\there\r\n", encoding="utf-8")
    assert read_labelled(f) == [LabelledExample(("a", "good", "film"), "pos"), LabelledExample(("dull", "here"), "neg")]
    chars = read_labelled(f, level="char")
    assert chars[0] == LabelledExample(tuple("a good  film"), "pos")
    assert chars[1].tokens == tuple("dull\there")  # only the first tab separates the label


def test_example_is_hashable_and_refuses_empty():
    assert LabelledExample(["a", "b"], "x") == LabelledExample(("a", "b"), "x")
    assert len({LabelledExample(["a"], "x"), LabelledExample(("a",), "x")}) == 1
    with pytest.raises(DataError, match="at least one token"):
        LabelledExample([], "x")
    with pytest.raises(DataError, match="non-empty label"):
        LabelledExample(["a"], " ")


@pytest.mark.parametrize("content, message", [
    (b"pos\tok\nno tab here\n", "line 2: expected 'label<TAB>text', found no tab"),
    (b"pos\tok\n\tno label\n", "line 2: empty label"),
    (b"pos\tok\n\npos\t  \n", "line 3: empty text"),
    (b"pos\tok\nneg\tbad \xff byte\n", "line 2: not UTF-8"),
    (b"\n\n", "has no examples"),
])
def test_errors_name_file_and_line(tmp_path, content, message):
    f = tmp_path / "data.tsv"
    f.write_bytes(content)
    with pytest.raises(DataError, match=message) as e:
        read_labelled(f)
    assert str(f) in str(e.value)


def test_unknown_level_and_missing_file(tmp_path):
    with pytest.raises(DataError, match="choose 'word' or 'char'"):
        read_labelled(tmp_path / "x.tsv", level="byte")
    with pytest.raises(DataNotFoundError, match="x.tsv does not exist"):
        read_labelled(tmp_path / "x.tsv")


def test_read_dir(tmp_path):
    (tmp_path / "train.tsv").write_text("a\tx y\nb\tz\n")
    (tmp_path / "valid.txt").write_text("a\tx\n")
    splits = read_labelled_dir(tmp_path)
    assert sorted(splits) == ["train", "valid"] and len(splits["train"]) == 2  # test is optional
    (tmp_path / "test.tsv").write_text("b\tx\n")
    assert read_labelled_dir(tmp_path, level="char")["test"] == [LabelledExample(("x",), "b")]


def test_read_dir_errors(tmp_path):
    with pytest.raises(DataNotFoundError, match="does not exist"):
        read_labelled_dir(tmp_path / "nowhere")
    (tmp_path / "train.tsv").write_text("a\tx\n")
    with pytest.raises(DataNotFoundError, match=r"no valid split: expected valid.tsv or valid.txt \(found: train.tsv\)"):
        read_labelled_dir(tmp_path)
    (tmp_path / "valid.tsv").write_text("a\tx\n")
    (tmp_path / "valid.txt").write_text("a\tx\n")
    with pytest.raises(DataError, match="both valid.tsv and valid.txt"):
        read_labelled_dir(tmp_path)
    (tmp_path / "valid.txt").unlink()
    (tmp_path / "test.txt").write_text("oops\n")
    with pytest.raises(DataError, match=r"test.txt line 1: expected 'label<TAB>text'"):
        read_labelled_dir(tmp_path)
