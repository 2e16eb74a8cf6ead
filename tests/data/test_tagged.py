"""Readers of tagged sentences: ATIS directories, CoNLL files, words<TAB>tags lines."""
from pathlib import Path

import pytest

from rnnlab.data.tagged import TaggedExample, read_atis, read_conll, read_tab_tagged
from rnnlab.errors import DataError, DataNotFoundError


def write_split(root: Path, split: str, seq_in: str, seq_out: str, label: str | None = None) -> None:
    d = root / split
    d.mkdir(parents=True)
    (d / "seq.in").write_text(seq_in)
    (d / "seq.out").write_text(seq_out)
    if label is not None:
        (d / "label").write_text(label)


def tiny_atis(root: Path) -> Path:
    write_split(root, "train", "i want to fly to new york\nfares from boston\n",
                "O O O O O B-toloc.city_name I-toloc.city_name\nO O B-fromloc.city_name\n",
                "atis_flight\natis_airfare\n")
    write_split(root, "dev", "to denver\n", "O B-toloc.city_name\n", "atis_flight#atis_airfare\n")
    write_split(root, "test", "from dallas\r\n", "O B-fromloc.city_name\r\n")  # no label file, CRLF
    return root


def test_read_atis_reads_every_split(tmp_path):
    splits = read_atis(tiny_atis(tmp_path))
    assert sorted(splits) == ["test", "train", "valid"]  # dev/ is read as valid
    assert splits["train"][0] == TaggedExample("i want to fly to new york".split(),
                                               "O O O O O B-toloc.city_name I-toloc.city_name".split(), "atis_flight")
    assert splits["train"][1].intent == "atis_airfare"
    assert splits["valid"][0].intent == "atis_flight#atis_airfare"  # multi-intent labels kept whole
    assert splits["test"] == [TaggedExample(["from", "dallas"], ["O", "B-fromloc.city_name"], None)]


@pytest.mark.parametrize("mutate, error, message", [
    (lambda r: (r / "train" / "seq.out").write_text("O O O O O B-toloc.city_name\nO O B-fromloc.city_name\n"),
     DataError, r"train/seq.out line 1: 6 tags for the 7 words of .*train/seq.in line 1"),
    (lambda r: (r / "train" / "label").write_text("atis_flight\n"),
     DataError, r"train/label has 1 lines but .*train/seq.in has 2"),
    (lambda r: (r / "train" / "seq.out").write_text("O O O O O B-toloc.city_name I-toloc.city_name\n"),
     DataError, r"train/seq.out has 1 lines but .*train/seq.in has 2"),
    (lambda r: (r / "train" / "seq.in").write_text("\n\n"), DataError, r"train/seq.in is empty"),
    (lambda r: (r / "train" / "seq.out").write_text("O O O O O B-toloc.city_name X-city\nO O B-fromloc.city_name\n"),
     DataError, r"train/seq.out line 1: tag 'X-city' is not O, B-type or I-type"),
    (lambda r: (r / "train" / "label").write_text("atis_flight\natis airfare\n"),
     DataError, r"train/label line 2: expected one intent"),
    (lambda r: (r / "train" / "seq.in").write_text("i want to fly to new york\n\n"),
     DataError, r"train/seq.in line 2: empty utterance"),
    (lambda r: (r / "train" / "seq.out").unlink(), DataNotFoundError, r"train/seq.out does not exist"),
    (lambda r: (r / "train" / "seq.in").write_bytes(b"caf\xe9\nfares from boston\n"),
     DataError, r"train/seq.in is not UTF-8"),
])
def test_read_atis_errors_name_file_and_line(tmp_path, mutate, error, message):
    root = tiny_atis(tmp_path)
    mutate(root)
    with pytest.raises(error, match=message):
        read_atis(root)


def test_read_atis_missing_directories(tmp_path):
    with pytest.raises(DataNotFoundError, match=r"ATIS directory .*nowhere does not exist"):
        read_atis(tmp_path / "nowhere")
    (tmp_path / "dev").mkdir()
    with pytest.raises(DataNotFoundError, match=r"has no train/ subdirectory \(found: dev\)"):
        read_atis(tmp_path)


def test_read_atis_bio_false_accepts_any_tags(tmp_path):
    write_split(tmp_path, "train", "the cat\n", "DT NN\n")
    with pytest.raises(DataError, match="tag 'DT'"):
        read_atis(tmp_path)
    assert read_atis(tmp_path, bio=False)["train"][0].tags == ["DT", "NN"]


def test_read_conll(tmp_path):
    f = tmp_path / "train.txt"
    f.write_text("-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects\tVBZ\tB-VP\tO\n\n\n"
                 "Peter B-PER\nBlackburn I-PER\n-DOCSTART- O\nto O\n")
    assert read_conll(f) == [TaggedExample(["EU", "rejects"], ["B-ORG", "O"]),
                             TaggedExample(["Peter", "Blackburn"], ["B-PER", "I-PER"]),
                             TaggedExample(["to"], ["O"])]


@pytest.mark.parametrize("text, message", [
    ("EU B-ORG\nrejects\n", r"train.txt line 2: expected 'word tag'"),
    ("EU B-ORG\n\nrejects ORG\n", r"train.txt line 3: tag 'ORG' is not O, B-type or I-type"),
    ("", r"train.txt is empty"),
    ("-DOCSTART- O\n\n", r"train.txt has no sentences"),
])
def test_read_conll_errors(tmp_path, text, message):
    f = tmp_path / "train.txt"
    f.write_text(text)
    with pytest.raises(DataError, match=message):
        read_conll(f)
    with pytest.raises(DataNotFoundError, match="missing.txt does not exist"):
        read_conll(tmp_path / "missing.txt")


def test_read_conll_pos_tags_with_bio_false(tmp_path):
    f = tmp_path / "pos.txt"
    f.write_text("The DT\ncat NN\n")
    assert read_conll(f, bio=False) == [TaggedExample(["The", "cat"], ["DT", "NN"])]


def test_read_tab_tagged(tmp_path):
    f = tmp_path / "data.tsv"
    f.write_text("fly to boston\tO O B-toloc.city_name\n\nfrom denver\tO B-fromloc.city_name\tatis_flight\n")
    assert read_tab_tagged(f) == [TaggedExample(["fly", "to", "boston"], ["O", "O", "B-toloc.city_name"]),
                                  TaggedExample(["from", "denver"], ["O", "B-fromloc.city_name"], "atis_flight")]


@pytest.mark.parametrize("text, message", [
    ("fly to boston O O B-toloc.city_name\n", r"data.tsv line 1: expected 'words<TAB>tags'.*found 1"),
    ("a\tO\nfly to boston\tO O\n", r"data.tsv line 2: 3 words but 2 tags"),
    ("a\tO\n\nb\tB-\n", r"data.tsv line 3: tag 'B-' is not O"),
    ("a\tO\tx y\n", r"data.tsv line 1: expected one intent"),
    ("\n\n", r"data.tsv is empty"),
])
def test_read_tab_tagged_errors(tmp_path, text, message):
    f = tmp_path / "data.tsv"
    f.write_text(text)
    with pytest.raises(DataError, match=message):
        read_tab_tagged(f)


def test_tagged_example_checks_alignment():
    with pytest.raises(DataError, match="2 words but 1 tags"):
        TaggedExample(["a", "b"], ["O"])


def test_real_atis_counts(benchmark_data):
    splits = read_atis(benchmark_data("atis"))
    assert {k: len(v) for k, v in splits.items()} == {"train": 4478, "valid": 500, "test": 893}
    first = splits["train"][0]
    assert first.words[:4] == ["i", "want", "to", "fly"] and first.intent == "atis_flight"
    assert "B-fromloc.city_name" in first.tags
