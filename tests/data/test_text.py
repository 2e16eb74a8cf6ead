"""Tokenizing and reading user corpora, with errors that name the file and the problem."""
import pytest

from rnnlab.data import corpus_files, read_corpus, tokenize
from rnnlab.errors import ConfigError, DataError, DataNotFoundError


def test_tokenize_char_and_word_levels():
    assert tokenize("ab c\n", "char") == ["a", "b", " ", "c", "\n"]
    assert tokenize("a b\nc\n", "word") == ["a", "b", "<eos>", "c", "<eos>"]
    assert tokenize(" a  b \n\nc", "word") == ["a", "b", "<eos>", "<eos>", "c"]
    with pytest.raises(ConfigError, match="'bpe'.*char, word"):
        tokenize("a", "bpe")


def write_corpus(root, pattern):
    root.mkdir(exist_ok=True)
    for split in ("train", "valid", "test"):
        (root / pattern.format(split)).write_text(f"{pattern} {split}\n", encoding="utf-8")


@pytest.mark.parametrize("pattern", ["{}.txt", "ptb.{}.txt"])
def test_read_corpus_accepts_both_layouts(tmp_path, pattern):
    write_corpus(tmp_path, pattern)
    texts = read_corpus(tmp_path)
    assert texts == {s: f"{pattern} {s}\n" for s in ("train", "valid", "test")}
    assert read_corpus(str(tmp_path), splits=("valid",)) == {"valid": f"{pattern} valid\n"}


def test_plain_layout_wins_over_ptb_and_is_not_mixed_with_it(tmp_path):
    write_corpus(tmp_path, "ptb.{}.txt")
    (tmp_path / "train.txt").write_text("plain\n", encoding="utf-8")
    assert corpus_files(tmp_path) == {"train": tmp_path / "train.txt"}
    assert read_corpus(tmp_path, splits=("train",)) == {"train": "plain\n"}
    with pytest.raises(DataNotFoundError, match=r"no valid\.txt"):
        read_corpus(tmp_path)


def test_read_corpus_normalises_line_ends_and_drops_a_bom(tmp_path):
    (tmp_path / "train.txt").write_bytes("\ufeffa\r\nb\r\n".encode("utf-8"))
    assert read_corpus(tmp_path, splits=["train"])["train"] == "a\nb\n"


def test_read_corpus_errors_name_the_path(tmp_path):
    with pytest.raises(DataNotFoundError, match="missing.*does not exist"):
        read_corpus(tmp_path / "missing")
    (tmp_path / "file.txt").write_text("x", encoding="utf-8")
    with pytest.raises(DataError, match="file.txt is a file"):
        read_corpus(tmp_path / "file.txt")
    (tmp_path / "train.txt").write_text("text\n", encoding="utf-8")
    with pytest.raises(DataNotFoundError, match=r"no test\.txt; expected .*ptb\.train\.txt"):
        read_corpus(tmp_path, splits=("train", "test"))
    with pytest.raises(ConfigError, match="'dev'"):
        read_corpus(tmp_path, splits=("dev",))


def test_read_corpus_rejects_empty_and_non_utf8_files(tmp_path):
    (tmp_path / "train.txt").write_text(" \n\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"train\.txt is empty"):
        read_corpus(tmp_path, splits=("train",))
    (tmp_path / "train.txt").write_bytes(b"ok\xff")
    with pytest.raises(DataError, match=r"train\.txt is not valid UTF-8.*offset 2"):
        read_corpus(tmp_path, splits=("train",))
