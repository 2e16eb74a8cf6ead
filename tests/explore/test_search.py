"""Hypotheses, ranking by correlation, and LSTMVis select / match, on arrays with known answers."""
import numpy as np
import pytest

from rnnlab.errors import DataError
from rnnlab.explore import (Match, Recording, UnitScore, counter_hypothesis, find_matches, function_hypothesis,
                            position_hypothesis, rank_units, regex_hypothesis, select_units, suggest_threshold,
                            value_distribution)


def test_regex_spans_map_back_to_the_tokens_they_touch():
    tokens = ["the", " ", '"qu', "ote", '"', " ", "end"]
    np.testing.assert_array_equal(regex_hypothesis(tokens, r'"[^"]*"'), [0, 0, 1, 1, 1, 0, 0])
    np.testing.assert_array_equal(regex_hypothesis(tokens, 'e "q'), [1, 1, 1, 0, 0, 0, 0])  # part of each
    np.testing.assert_array_equal(regex_hypothesis(list("ab(cd)e"), r"\(.*?\)"), [0, 0, 1, 1, 1, 1, 0])
    np.testing.assert_array_equal(regex_hypothesis(list("abc"), "x*"), [0, 0, 0])  # empty matches mark nothing
    with pytest.raises(DataError, match="bad regular expression"):
        regex_hypothesis(["a"], "(")


def test_counter_and_position_hypotheses():
    tokens = list("aaXbb\naXb")
    np.testing.assert_array_equal(counter_hypothesis(tokens, "a", "b", "\n"), [1, 2, 2, 1, 0, 0, 1, 1, 0])
    np.testing.assert_array_equal(counter_hypothesis(tokens, {"a", "X"}), [1, 2, 3, 3, 3, 3, 4, 5, 5])
    np.testing.assert_array_equal(position_hypothesis(tokens), [1, 2, 3, 4, 5, 0, 1, 2, 3])


def test_function_hypothesis_checks_what_it_gets():
    np.testing.assert_array_equal(function_hypothesis(list("ab"), lambda t: [len(x) for x in t]), [1, 1])
    with pytest.raises(DataError, match="one value per token"):
        function_hypothesis(list("abc"), lambda t: [0, 1])
    with pytest.raises(DataError, match="NaN"):
        function_hypothesis(list("ab"), lambda t: [0, float("nan")])


def _planted(tokens, rng):
    """(T, 6) noise with unit 4 = 2·count + 1 and unit 1 = −count + small noise, unit 5 constant."""
    count = counter_hypothesis(tokens, "a", "b", "\n")
    v = rng.normal(size=(len(tokens), 6))
    v[:, 4] = 2 * count + 1
    v[:, 1] = -count + 0.3 * rng.normal(size=len(tokens))
    v[:, 5] = 0.25
    return v.astype(np.float32), count


def test_a_planted_counter_unit_ranks_first():
    rng = np.random.default_rng(0)
    tokens = list("aaaXbbb\naXb\naaXbb\n" * 3)
    v, count = _planted(tokens, rng)
    scores = rank_units({"l/c": v, "l/h": rng.normal(size=(len(tokens), 3))}, count, top=3)
    assert scores[0] == UnitScore("l/c", 4, pytest.approx(1.0))
    assert scores[1].key == "l/c" and scores[1].unit == 1 and scores[1].r < -0.9
    assert abs(scores[2].r) < 0.5
    every = rank_units({"l/c": v}, count, top=None)
    assert len(every) == 6 and [s.r for s in every if s.unit == 5] == [0.0]  # constant unit: 0, not NaN
    with pytest.raises(DataError, match="constant"):
        rank_units({"l/c": v}, np.ones(len(tokens)))


def test_ranking_over_recordings_pools_their_positions():
    rng = np.random.default_rng(1)
    recs = []
    for text in ["aaXbb\n", "aaaaXbbbb\n", "aXb\n"]:
        v, _ = _planted(list(text), rng)
        recs.append(Recording(list(text), {"l/c": v, "l/h": v[:, ::-1].copy()}))
    hyps = [counter_hypothesis(r.tokens, "a", "b", "\n") for r in recs]
    assert rank_units(recs, hyps, top=1) == [UnitScore("l/c", 4, pytest.approx(1.0))]
    assert rank_units(recs, hyps, keys=["l/h"], top=1)[0][:2] == ("l/h", 1)  # reversed columns: 4 → 1
    assert rank_units(recs[1], hyps[1], top=1)[0].unit == 4
    with pytest.raises(DataError, match="positions"):
        rank_units(recs, hyps[:2])


def test_select_units_on_through_the_span_and_off_just_before():
    v = np.zeros((8, 5))
    v[2:6, 0] = 1.0       # on exactly over [2, 6): selected
    v[0:6, 1] = 1.0       # on before the span too: not selected
    v[2:5, 2] = 1.0       # off at step 5: not selected
    v[3:7, 3] = 1.0       # on from 3 only
    v[1:6, 4] = 0.6       # on over the span with a lower threshold, off margin only 1 step
    v[0, 4] = 0.6
    assert select_units(v, 2, 6, threshold=0.5) == [0]
    assert select_units(v, 3, 6, threshold=0.5) == [3]
    assert select_units(v, 2, 6, threshold=0.5, off_margin=0) == [0, 1, 4]
    assert select_units(v, 0, 2, threshold=0.5) == [1, 4]  # nothing before step 0 to be off
    with pytest.raises(DataError, match="span"):
        select_units(v, 5, 5, 0.5)


def test_threshold_helpers():
    v = np.array([[0.1, 0.5, 0.9, 0.95], [0.2, 0.6, 0.8, 0.99]])
    dist = value_distribution(v, 0, 2, bins=4)
    assert len(dist["edges"]) == 5 and sum(dist["counts"]) == 8 and dist["edges"][0] == 0.1
    assert suggest_threshold(v, 0, 2, fraction=0.25) == 0.95  # one unit of four stays above it
    assert suggest_threshold(v, 0, 2, fraction=0.5) == 0.8
    assert select_units(v, 0, 2, suggest_threshold(v, 0, 2, fraction=0.5)) == [2, 3]


def test_find_matches_ranks_by_jaccard_then_length():
    v = np.zeros((12, 4))
    v[1:4, [0, 1]] = 1.0            # exactly the selection, 3 steps: score 1
    v[6:11, [0, 1, 2]] = 1.0        # the selection plus unit 2, 5 steps: score 2/3
    v[11, 0] = 1.0                  # one unit alone is no match
    w = np.zeros((5, 4))
    w[0:4, [0, 1]] = 1.0            # second example, 4 steps, score 1
    w[:, 3] = 0.4                   # below the threshold: not "on"
    got = find_matches([v, w], [0, 1], threshold=0.5)
    assert got == [Match(1, 0, 4, 1.0), Match(0, 1, 4, 1.0), Match(0, 6, 11, pytest.approx(2 / 3))]
    longer = find_matches([v, w], [0, 1], 0.5, min_length=4)
    assert longer == [Match(1, 0, 4, 1.0), Match(0, 6, 11, pytest.approx(2 / 3))]
    assert find_matches(v, [2], 0.5, top=1) == [Match(0, 6, 11, pytest.approx(1 / 3))]
    assert find_matches(v, [0, 1], 0.5, top=1) == [Match(0, 1, 4, 1.0)]
    with pytest.raises(DataError, match="units"):
        find_matches(v, [7], 0.5)
