"""Vocabulary: deterministic construction, lossless encode/decode, and strict files."""
import json

import pytest
import torch

from rnnlab.data import Vocabulary
from rnnlab.errors import CheckpointError, ConfigError, DataError


def test_build_orders_specials_unk_then_count_with_ties_by_string():
    v = Vocabulary.build("b a c a b d a".split(), specials=["<pad>"])
    # a: 3, b: 2, c and d: 1 each (tie broken alphabetically)
    assert v.tokens == ("<pad>", "<unk>", "a", "b", "c", "d")
    assert v.unk == "<unk>" and v.unk_index == 1
    # Same counts in another order give the same vocabulary.
    assert Vocabulary.build("d c b b a a a".split(), specials=["<pad>"]) == v


def test_build_min_count_and_max_size_drop_rare_tokens_to_unk():
    words = "a a a b b c".split()
    assert Vocabulary.build(words, min_count=2).tokens == ("<unk>", "a", "b")
    v = Vocabulary.build(words, max_size=2)
    assert v.tokens == ("<unk>", "a")
    assert v.encode(["a", "b", "c"]).tolist() == [1, 0, 0]


def test_build_unk_already_a_special_is_not_repeated_and_unk_none_keeps_only_seen():
    v = Vocabulary.build("xyx", specials=["<eos>", "<unk>"])
    assert v.tokens == ("<eos>", "<unk>", "x", "y")
    v = Vocabulary.build("xyx", unk=None)
    assert v.tokens == ("x", "y") and v.unk is None and v.unk_index is None


def test_build_rejects_impossible_sizes():
    with pytest.raises(ConfigError, match="max_size=1 is smaller"):
        Vocabulary.build("ab", specials=["<pad>"], max_size=1)
    with pytest.raises(ConfigError, match="min_count"):
        Vocabulary.build("ab", min_count=0)


def test_encode_decode_round_trip():
    text = "hello, wörld\n"
    v = Vocabulary.build(text, unk=None)
    ids = v.encode(text)
    assert ids.dtype == torch.int64 and ids.shape == (len(text),)
    assert "".join(v.decode(ids)) == text
    assert v.decode(ids.tolist()) == list(text)
    assert v.encode(iter("eh")).tolist() == [v.index("e"), v.index("h")]
    assert v.encode([]).shape == (0,)


def test_unknown_tokens_map_to_unk_or_fail_naming_them():
    v = Vocabulary(["<unk>", "a"])
    assert v.encode("aza").tolist() == [1, 0, 1]
    assert v.index("z") == 0 and "z" not in v and "a" in v
    strict = Vocabulary(["a"], unk=None)
    with pytest.raises(DataError, match=r"'z', 'q'.*no unknown token"):
        strict.encode(iter("azqz"))
    with pytest.raises(DataError, match="7 token.*and 2 more"):
        strict.encode("bcdefgh")
    with pytest.raises(DataError, match="'z' is not in the vocabulary"):
        strict.index("z")


def test_decode_rejects_out_of_range_ids():
    v = Vocabulary(["<unk>", "a"])
    with pytest.raises(DataError, match="id 2 is out of range.*2 tokens"):
        v.decode(torch.tensor([0, 2]))
    with pytest.raises(DataError, match="id -1 is out of range"):
        v.decode([-1])


def test_constructor_validates_tokens_and_unk():
    with pytest.raises(DataError, match="duplicate token 'a'"):
        Vocabulary(["<unk>", "a", "a"])
    with pytest.raises(ValueError, match="'<unk>' is not one of"):
        Vocabulary(["a", "b"])
    v = Vocabulary(["x", "<unk>"])
    assert len(v) == 2 and v[0] == "x" and v.unk_index == 1 and v.tokens == ("x", "<unk>")
    assert v != Vocabulary(["x", "<unk>"], unk=None)


def test_save_load_round_trip_is_utf8_json(tmp_path):
    v = Vocabulary.build("naïve €", specials=["<pad>"])
    path = tmp_path / "vocab.json"
    v.save(path)
    assert "€" in path.read_text(encoding="utf-8")  # ensure_ascii=False
    assert not (tmp_path / "vocab.json.tmp").exists()
    assert Vocabulary.load(path) == v
    assert Vocabulary.from_dict(v.to_dict()) == v
    assert json.loads(path.read_text(encoding="utf-8")) == v.to_dict()


def test_load_reports_missing_and_corrupt_files(tmp_path):
    with pytest.raises(CheckpointError, match="nope.json does not exist"):
        Vocabulary.load(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"tokens": ["a"', encoding="utf-8")
    with pytest.raises(CheckpointError, match="bad.json is not valid JSON"):
        Vocabulary.load(bad)
    bad.write_text('{"tokens": ["a", 3], "unk": null}', encoding="utf-8")
    with pytest.raises(CheckpointError, match="bad.json.*corrupt.*list of strings"):
        Vocabulary.load(bad)
    for d in ([], {"tokens": ["a"]}, {"tokens": "ab", "unk": None}, {"tokens": ["a"], "unk": 1},
              {"tokens": ["a", "a"], "unk": None}, {"tokens": ["a"], "unk": "<unk>"}):
        with pytest.raises(CheckpointError, match="vocabulary data is corrupt"):
            Vocabulary.from_dict(d)
