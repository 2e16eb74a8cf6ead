"""The built-in transduction tasks (rnnlab/datasets/transduction.py)."""
import datetime as dt

import pytest

from rnnlab.errors import ConfigError
from rnnlab.datasets.transduction import (
    DATE_FORMS, TRANSDUCTION_DATASETS, format_date, ordinal, transduction_data, transduction_pairs,
)


def test_reverse_and_sort():
    data = transduction_data("reverse", 300, 50, 50, seed=3, min_len=2, max_len=6)
    for src, tgt in data["train"] + data["test"]:
        assert tgt == src[::-1] and 2 <= len(src) <= 6 and set(src) <= set("abcdefghijklmnopqrstuvwxyz")
    assert {len(s) for s, _ in data["train"]} == {2, 3, 4, 5, 6}
    for src, tgt in transduction_pairs("sort", 200, seed=1, min_len=1, max_len=12):
        assert tgt == sorted(src) and set(src) <= set("0123456789")


def test_deterministic_distinct_and_held_out_fixed():
    a = transduction_data("reverse", 200, 30, 30, seed=7)
    assert a == transduction_data("reverse", 200, 30, 30, seed=7)
    assert a != transduction_data("reverse", 200, 30, 30, seed=8)
    sources = ["".join(s) for split in a.values() for s, _ in split]
    assert len(sources) == len(set(sources)) == 260  # no duplicates within or across splits
    bigger = transduction_data("reverse", 500, 30, 30, seed=7)
    assert bigger["test"] == a["test"] and bigger["valid"] == a["valid"]


def test_too_few_distinct_examples_is_an_error():
    with pytest.raises(ConfigError, match="distinct"):
        transduction_data("sort", 20, 0, 0, min_len=1, max_len=1)  # only 10 one-digit strings


def test_ordinals():
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 30, 31, 101, 111, 112)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "30th", "31st",
        "101st", "111th", "112th"]


def test_date_forms_on_a_known_date():
    d = dt.date(2019, 11, 2)  # a Saturday
    assert {form: format_date(d, form) for form in DATE_FORMS} == {
        "month ordinal year": "november 2nd 2019",
        "month day, year": "november 2, 2019",
        "ordinal of month year": "2nd of november 2019",
        "day month year": "2 november 2019",
        "mon day year": "nov 2 2019",
        "day mon year": "2 nov 2019",
        "weekday, month day, year": "saturday, november 2, 2019",
        "mm/dd/yyyy": "11/02/2019",
        "m/d/yyyy": "11/2/2019",
        "dd.mm.yyyy": "02.11.2019",
    }
    with pytest.raises(ConfigError, match="unknown date form"):
        format_date(d, "yyyy")


def test_date_pairs_round_trip():
    pairs = transduction_pairs("dates", 500, seed=0)
    forms = set()
    for src, tgt in pairs:
        date = dt.date.fromisoformat("".join(tgt))  # the target is a valid ISO date ...
        matching = [f for f in DATE_FORMS if format_date(date, f) == "".join(src)]
        assert matching  # ... and the source is that date in one of the forms
        forms.update(matching)
    assert forms == set(DATE_FORMS)  # every form is used
    years = {int("".join(t[:4])) for _, t in pairs}
    assert min(years) < 1920 and max(years) > 2080


def test_registry_and_errors():
    assert set(TRANSDUCTION_DATASETS) == {"reverse", "sort", "dates"}
    with pytest.raises(ConfigError, match="unknown transduction dataset 'rot13'.*reverse"):
        transduction_data("rot13", 10, 1, 1)
    with pytest.raises(ConfigError, match="no length options"):
        transduction_data("dates", 10, 1, 1, max_len=5)
    with pytest.raises(ConfigError, match="min_len"):
        transduction_data("reverse", 10, 1, 1, min_len=5, max_len=3)
