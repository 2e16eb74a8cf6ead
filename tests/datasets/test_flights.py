"""The generated flight-booking corpus: deterministic, ATIS tag names, city roles balanced."""
from collections import Counter

import pytest

from rnnlab.data.tagged import _BIO_TAG
from rnnlab.errors import ConfigError
from rnnlab.datasets.flights import CITIES, CUE_WORDS, INTENTS, NOUN_FRAMES, PHRASINGS, flight_corpus, is_city_tag


def test_deterministic_and_seeded():
    a, b = flight_corpus(50, 10, 10, seed=1), flight_corpus(50, 10, 10, seed=1)
    assert a == b
    assert flight_corpus(50, 10, 10, seed=2)["train"] != a["train"]
    assert a["train"] != a["test"][:10] + a["train"][10:]  # splits are drawn separately
    assert {k: len(v) for k, v in a.items()} == {"train": 50, "valid": 10, "test": 10}


def test_every_city_word_is_as_often_departure_as_destination():
    corpus = flight_corpus(400, 60, 60, seed=0)
    for split, examples in corpus.items():
        roles = Counter((w, t.split("-", 1)[1]) for e in examples for w, t in zip(e.words, e.tags) if is_city_tag(t))
        words = {w for w, _ in roles}
        assert len(words) > 15, split
        for w in words:
            assert roles[(w, "fromloc.city_name")] == roles[(w, "toloc.city_name")] > 0, (split, w)
        city_words = {w for c in CITIES for w in c.split()}
        # city words appear nowhere else, so a word alone cannot give the role away
        assert all(is_city_tag(t) for e in examples for w, t in zip(e.words, e.tags) if w in city_words)


def test_tags_are_atis_bio():
    corpus = flight_corpus(300, 1, 1, seed=0)["train"]
    tags = Counter(t for e in corpus for t in e.tags)
    assert all(_BIO_TAG.fullmatch(t) for t in tags)
    for t in ("B-fromloc.city_name", "I-toloc.city_name", "B-depart_date.month_name", "B-depart_date.day_number",
              "B-arrive_date.month_name", "B-depart_time.period_of_day", "B-arrive_time.time_relative",
              "I-depart_time.time", "B-round_trip", "B-cost_relative"):
        assert tags[t] > 0, t
    assert {e.intent for e in corpus} == set(INTENTS)
    text = {" ".join(e.words) for e in corpus}
    assert any(s.startswith("i would like to arrive ") for s in text)
    assert any(s.startswith("i want to leave ") for s in text)
    # multi-word cities: B- then I-, both with the same role
    for e in corpus:
        for k, t in enumerate(e.tags):
            if t.startswith("I-"):
                assert e.tags[k - 1][2:] == t[2:]


def test_sizes_must_be_positive():
    with pytest.raises(ConfigError, match="n_valid must be >= 1"):
        flight_corpus(10, 0, 10)


def _role_counts(examples):
    """{word: Counter(role)}: for each sentence, each of its city roles counted once per distinct
    non-city word in it — how well a word alone predicts the roles of the cities beside it."""
    counts: dict[str, Counter] = {}
    for e in examples:
        roles = [t.split(".")[0][2:] for t in e.tags if t.startswith("B-") and is_city_tag(t)]
        for w in {w for w, t in zip(e.words, e.tags) if not is_city_tag(t)}:
            counts.setdefault(w, Counter()).update(roles)
    return counts


def test_no_word_but_the_cues_predicts_the_city_role():
    corpus = flight_corpus(4000, 10, 10, seed=3)["train"]
    counts = _role_counts(corpus)
    for w, c in counts.items():
        if w in CUE_WORDS or sum(c.values()) < 20:
            continue
        share = c["fromloc"] / (c["fromloc"] + c["toloc"])
        assert 0.4 <= share <= 0.6, (w, dict(c))
    # the cues themselves do predict it (or the test above would prove nothing); two-city
    # sentences hold both roles, so a cue's lead comes from the one-city sentences
    for cue, role, other in (("arrive", "toloc", "fromloc"), ("arriving", "toloc", "fromloc"),
                             ("leave", "fromloc", "toloc"), ("leaving", "fromloc", "toloc")):
        assert counts[cue][role] > 1.3 * counts[cue][other], cue


def test_every_phrasing_comes_with_every_cue():
    text = {" ".join(e.words) for e in flight_corpus(4000, 10, 10, seed=0)["train"]}
    for phrasing in PHRASINGS:
        for cue in ("arrive", "leave", "fly to", "fly from"):
            assert any(s.startswith(f"{phrasing} {cue} ") for s in text), (phrasing, cue)
    for _, frame in NOUN_FRAMES:
        head = frame.split(" {")[0]
        for cue in ("to", "from", "arriving", "leaving"):
            assert any(s.startswith(f"{head} ") and f" {cue} " in f" {s} " for s in text), (frame, cue)


def test_version_1_is_rnnlab_0_1s_corpus():
    old = flight_corpus(200, 10, 10, seed=0, version=1)["train"]
    text = {" ".join(e.words) for e in old}
    # the shortcut version 2 removes: "i would like to" only with arrive, "i want to" only with leave
    assert not any(s.startswith("i would like to leave") or s.startswith("i want to arrive") for s in text)
    assert old != flight_corpus(200, 10, 10, seed=0)["train"]
    with pytest.raises(ConfigError, match="version must be one of"):
        flight_corpus(10, 10, 10, version=3)
