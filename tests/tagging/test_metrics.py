"""Slot scores follow conlleval's chunk definition; intent and per-token accuracy."""
import pytest

from rnnlab.errors import DataError
from rnnlab.tagging.metrics import intent_accuracy, slot_report, slot_scores, token_accuracy


def test_hand_counted_chunks():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG", "I-ORG", "O"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["O", "I-ORG", "I-ORG", "O"]]
    # gold chunks: PER 0-1, LOC 3 | ORG 1-2.  predicted: PER 0-1 (right), ORG 3 (wrong type),
    # ORG 1-2 — conlleval starts a chunk at I- after O, so it is right: 2 of 3 both ways.
    s = slot_scores(gold, pred)
    assert s == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3})


def test_chunk_boundaries():
    # an I- of another type starts a new chunk: B-X I-Y is two chunks, X and Y
    assert slot_scores([["B-X", "B-Y"]], [["B-X", "I-Y"]])["f1"] == 1.0
    # a chunk must match both ends: B-X O against B-X I-X is wrong (0 of 1)
    assert slot_scores([["B-X", "I-X"]], [["B-X", "O"]]) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    # B-X B-X is two chunks; predicting B-X I-X gives one chunk that matches neither
    s = slot_scores([["B-X", "B-X", "O", "B-Z"]], [["B-X", "I-X", "O", "B-Z"]])
    assert s == pytest.approx({"precision": 1 / 2, "recall": 1 / 3, "f1": 2 * (1 / 2 * 1 / 3) / (1 / 2 + 1 / 3)})
    # no chunk crosses a sentence boundary: I-X opening sentence 2 is its own chunk
    s = slot_scores([["B-X"], ["I-X"]], [["B-X"], ["B-X"]])
    assert s == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    # nothing predicted: precision 0 (conlleval's convention), no warning
    assert slot_scores([["B-X"]], [["O"]]) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_report_lists_types():
    text = slot_report([["B-toloc.city_name", "O"]], [["B-toloc.city_name", "O"]])
    assert "toloc.city_name" in text


def test_intent_and_token_accuracy():
    assert intent_accuracy(["a", "b", "a#b", "c"], ["a", "a", "a#b", "c"]) == 0.75
    gold = [["O", "B-fromloc.city_name", "O", "B-toloc.city_name"], ["B-toloc.city_name", "I-toloc.city_name"]]
    pred = [["O", "B-toloc.city_name", "O", "B-toloc.city_name"], ["B-toloc.city_name", "I-fromloc.city_name"]]
    assert token_accuracy(gold, pred) == 4 / 6
    assert token_accuracy(gold, pred, where=lambda t: t != "O") == 2 / 4
    assert token_accuracy(gold, pred, where=lambda t: t.startswith("B-")) == 2 / 3


def test_misaligned_inputs_are_errors():
    with pytest.raises(DataError, match="sentence 0: 2 gold tags but 1 predicted"):
        slot_scores([["O", "O"]], [["O"]])
    with pytest.raises(DataError, match="1 gold sentences but 2 predicted"):
        token_accuracy([["O"]], [["O"], ["O"]])
    with pytest.raises(DataError, match="no token's gold tag is selected"):
        token_accuracy([["O"]], [["O"]], where=lambda t: t != "O")
    with pytest.raises(DataError, match="2 gold intents but 1 predictions"):
        intent_accuracy(["a", "b"], ["a"])
