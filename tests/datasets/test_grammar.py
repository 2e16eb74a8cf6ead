"""The built-in classification tasks (rnnlab/datasets/grammar.py)."""
from collections import Counter

import pytest

from rnnlab.errors import ConfigError
from rnnlab.datasets.grammar import (
    CLASSES, CLASSIFICATION_DATASETS, classification_data, classification_examples, is_balanced, is_embedded_reber,
    is_reber,
)


def strings(examples, label=None):
    return ["".join(e.tokens) for e in examples if label is None or e.label == label]


@pytest.mark.parametrize("name", list(CLASSIFICATION_DATASETS))
def test_deterministic_balanced_disjoint(name):
    a = classification_data(name, 300, 40, 40, seed=5)
    assert a == classification_data(name, 300, 40, 40, seed=5)
    assert a != classification_data(name, 300, 40, 40, seed=6)
    everything = [s for split in a.values() for s in strings(split)]
    assert len(everything) == len(set(everything)) == 380  # no string twice, within or across splits
    for split in a.values():
        counts = Counter(e.label for e in split)
        assert set(counts) == set(CLASSES[name]) and counts[CLASSES[name][0]] == counts[CLASSES[name][1]]
        # same length distribution in both classes: length is never a cue
        a_lengths, b_lengths = (sorted(map(len, strings(split, c))) for c in CLASSES[name])
        assert a_lengths == b_lengths
    # train is drawn first, so the few strings of the short lengths are trained on, not only tested
    train_lengths = {len(s) for s in strings(a["train"])}
    assert {len(s) for s in everything} == train_lengths


def test_parity_labels_and_lengths():
    data = classification_data("parity", 200, 20, 20, min_len=3, max_len=9)
    for e in data["train"]:
        assert set(e.tokens) <= {"0", "1"} and 3 <= len(e.tokens) <= 9
        assert e.label == ("odd" if e.tokens.count("1") % 2 else "even")


def test_balanced_negatives_are_hard():
    train = classification_data("balanced", 400, 0, 0, min_len=2, max_len=16)["train"]
    for e in train:
        s = "".join(e.tokens)
        assert is_balanced(s) == (e.label == "balanced")
        assert s.count("(") == s.count(")")  # counting brackets tells nothing
    # from length 6 on, the ends are no cue either: every string starts with "(" and ends with ")"
    assert all(s[0] == "(" and s[-1] == ")" for s in strings(train) if len(s) >= 6)


def test_reber_negatives_need_the_long_range_dependency():
    train = classification_data("reber", 400, 0, 0)["train"]
    assert all(is_embedded_reber(s) for s in strings(train, "valid"))
    invalid = strings(train, "invalid")
    assert not any(is_embedded_reber(s) for s in invalid)
    # invalid only through the T...T / P...P agreement: every part is locally fine
    long_range = [s for s in invalid if is_reber(s[2:-2]) and s[1] in "TP" and s[-2] in "TP" and s[1] != s[-2]]
    assert 0.35 < len(long_range) / len(invalid) < 0.65
    assert all(len(s) >= 9 for s in strings(train))


def test_recognisers():
    assert is_reber("BTXSE") and is_reber("BPTVPSE") and not is_reber("BTXE")
    assert is_embedded_reber("BTBTXSETE") and not is_embedded_reber("BTBTXSEPE")
    assert is_balanced("(()())") and not is_balanced("())(()") and not is_balanced("((")


def test_odd_counts_and_errors():
    assert len(classification_examples("parity", 7, seed=1)) == 7
    with pytest.raises(ConfigError, match="unknown classification dataset 'nope'; choose one of: parity, balanced, reber"):
        classification_data("nope")
    with pytest.raises(ConfigError, match="even length"):
        classification_data("balanced", 10, 0, 0, min_len=3, max_len=3)
    with pytest.raises(ConfigError, match="at least 9"):
        classification_data("reber", 10, 0, 0, max_len=8)
    with pytest.raises(ConfigError, match="cannot draw 20 distinct"):
        classification_data("parity", 20, 0, 0, min_len=1, max_len=3)  # only 14 strings
    with pytest.raises(ConfigError, match="min_len <= max_len"):
        classification_data("parity", min_len=5, max_len=4)
