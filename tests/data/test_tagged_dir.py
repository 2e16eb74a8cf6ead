"""Tagging data directories (issue 12, item 3): a file is read in the layout it looks most like, and
a file that is not valid in that layout is an error naming the file and line — never misread."""
import pytest

from rnnlab.data.tagged import TaggedExample
from rnnlab.data.tagged_dir import read_tagged_dir, sniff_layout
from rnnlab.errors import DataError


def _dir(tmp_path, train: str, valid: str | None = None, suffix: str = ".txt"):
    (tmp_path / f"train{suffix}").write_text(train)
    (tmp_path / f"valid{suffix}").write_text(train if valid is None else valid)
    return tmp_path


@pytest.mark.parametrize("text, layout", [
    ("fly to boston\tO O B-to\nfrom denver\tO B-from\tflight\n", "tab"),
    ("EU B-ORG\nrejects O\n\nPeter B-PER\n", "conll"),
    ("EU\tNNP\tB-ORG\nrejects\tVBZ\tO\n\nPeter\tNNP\tB-PER\n", "conll"),  # CoNLL with tabs
    ("fly to boston\tO O\nfrom denver\tO\n", "tab"),                         # tab, if a broken one
    ("fly\tO O\nto\tO O\n", "tab"),
])
def test_each_file_is_read_in_the_layout_it_looks_like(tmp_path, text, layout):
    (tmp_path / "f.txt").write_text(text)
    assert sniff_layout(tmp_path / "f.txt") == layout


def test_well_formed_layouts_are_read(tmp_path):
    (tmp_path / "tab").mkdir()
    tab = _dir(tmp_path / "tab",
               "fly to boston\tO O B-to\tflight\nfares\tO\tfare\n", suffix=".tsv")
    splits, layout = read_tagged_dir(tab)
    assert layout == "tab" and splits["train"][1] == TaggedExample(["fares"], ["O"], "fare")
    (tmp_path / "conll").mkdir()
    splits, layout = read_tagged_dir(_dir(tmp_path / "conll", "EU\tB-ORG\nrejects\tO\n\nto O\n"))
    assert layout == "conll" and splits["train"] == [TaggedExample(["EU", "rejects"], ["B-ORG", "O"]),
                                                     TaggedExample(["to"], ["O"])]


@pytest.mark.parametrize("text, message", [
    # the audit's file: words<TAB>tags with the counts wrong on every line was read as one CoNLL sentence
    ("fly to boston\tO O\nfrom denver\tO\nfares to new york\tO O O\n", r"train.txt line 1: 3 words but 2 tags"),
    ("fly\tO O\nto\tO B-to\n", r"train.txt line 1: 1 words but 2 tags"),
    ("fly to boston\tO O B-to\nfares O\nfrom denver\tO B-from\n", r"train.txt line 2: expected 'words<TAB>tags'"),
    ("EU B-ORG\nrejects O\n\nfly to boston\tO O B-to\nPeter B-PER\n", r"train.txt line 4: a tab-separated column holds several"),
])
def test_a_file_invalid_in_its_layout_is_an_error_naming_the_line(tmp_path, text, message):
    with pytest.raises(DataError, match=message):
        read_tagged_dir(_dir(tmp_path, text))
