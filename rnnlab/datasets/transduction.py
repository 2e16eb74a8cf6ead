"""Transduction tasks for encoder–decoder models: (source tokens, target tokens) pairs made in code.

    reverse   "hello"               → "olleh"        letters a–z
    sort      "31415"               → "11345"        digits 0–9
    dates     "2nd of november 2019" → "2019-11-02"  one of the forms in DATE_FORMS → ISO 8601

Tokens are single characters on both sides (spaces and punctuation included, so dates need no
tokeniser and the model must learn to read "nov", "november" and "11" alike). `min_len` and
`max_len` bound the source length of reverse and sort; dates have fixed-size forms and take none.

`transduction_data` is deterministic from its seed, and no source appears twice across or within
splits: the test split is drawn first, then valid (avoiding test), then train (avoiding both), each
from its own random stream, so the held-out splits do not change with `n_train`.
"""
from __future__ import annotations

import datetime as dt
import random
from typing import Callable

from rnnlab.datasets.splits import disjoint_splits
from rnnlab.errors import ConfigError

Pair = tuple[list[str], list[str]]

TRANSDUCTION_DATASETS: dict[str, str] = {
    "reverse": "a random string of letters a-z -> the same string reversed",
    "sort": "a random string of digits -> its digits in ascending order",
    "dates": "a date in one of many written forms ('november 2nd 2019', '11/02/2019', ...) -> 2019-11-02",
}

LETTERS = "abcdefghijklmnopqrstuvwxyz"
DIGITS = "0123456789"
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
FIRST_DATE, LAST_DATE = dt.date(1900, 1, 1), dt.date(2099, 12, 31)


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, …, 11th, 12th, 13th, …, 21st, 22nd, 23rd, …"""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _month(d: dt.date) -> str:
    return MONTHS[d.month - 1]


DATE_FORMS: dict[str, Callable[[dt.date], str]] = {
    "month ordinal year": lambda d: f"{_month(d)} {ordinal(d.day)} {d.year}",          # november 2nd 2019
    "month day, year": lambda d: f"{_month(d)} {d.day}, {d.year}",                     # november 2, 2019
    "ordinal of month year": lambda d: f"{ordinal(d.day)} of {_month(d)} {d.year}",    # 2nd of november 2019
    "day month year": lambda d: f"{d.day} {_month(d)} {d.year}",                       # 2 november 2019
    "mon day year": lambda d: f"{_month(d)[:3]} {d.day} {d.year}",                     # nov 2 2019
    "day mon year": lambda d: f"{d.day} {_month(d)[:3]} {d.year}",                     # 2 nov 2019
    "weekday, month day, year": lambda d: f"{WEEKDAYS[d.weekday()]}, {_month(d)} {d.day}, {d.year}",
    "mm/dd/yyyy": lambda d: f"{d.month:02d}/{d.day:02d}/{d.year}",                     # 11/02/2019 (US order)
    "m/d/yyyy": lambda d: f"{d.month}/{d.day}/{d.year}",                               # 11/2/2019
    "dd.mm.yyyy": lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",                     # 02.11.2019 (European order)
}


def format_date(date: dt.date, form: str) -> str:
    """`date` written in the named form of DATE_FORMS."""
    if form not in DATE_FORMS:
        raise ConfigError(f"unknown date form {form!r}; choose one of: {', '.join(DATE_FORMS)}")
    return DATE_FORMS[form](date)


def _reverse(rng: random.Random, min_len: int, max_len: int) -> Pair:
    s = [rng.choice(LETTERS) for _ in range(rng.randint(min_len, max_len))]
    return s, s[::-1]


def _sort(rng: random.Random, min_len: int, max_len: int) -> Pair:
    s = [rng.choice(DIGITS) for _ in range(rng.randint(min_len, max_len))]
    return s, sorted(s)


def _dates(rng: random.Random) -> Pair:
    date = FIRST_DATE + dt.timedelta(days=rng.randrange((LAST_DATE - FIRST_DATE).days + 1))
    form = rng.choice(list(DATE_FORMS))
    return list(DATE_FORMS[form](date)), list(date.isoformat())


def transduction_pairs(name: str, n: int, *, seed: int = 0, min_len: int | None = None, max_len: int | None = None,
                       exclude: set[str] | None = None) -> list[Pair]:
    """`n` distinct pairs of dataset `name` whose sources are not in `exclude` (which is updated)."""
    if name not in TRANSDUCTION_DATASETS:
        raise ConfigError(f"unknown transduction dataset {name!r}; choose one of: {', '.join(TRANSDUCTION_DATASETS)}")
    if n < 0:
        raise ConfigError(f"the number of examples must be >= 0, got {n}")
    if name == "dates":
        if min_len is not None or max_len is not None:
            raise ConfigError("the dates dataset has no length options (its sources have fixed forms)")
        make = _dates
    else:
        lo, hi = 1 if min_len is None else min_len, 10 if max_len is None else max_len
        if not 1 <= lo <= hi:
            raise ConfigError(f"need 1 <= min_len <= max_len, got min_len={lo}, max_len={hi}")
        gen = _reverse if name == "reverse" else _sort
        make = lambda rng: gen(rng, lo, hi)  # noqa: E731
    rng, seen = random.Random(f"{name}:{seed}"), set() if exclude is None else exclude
    out, misses = [], 0
    while len(out) < n:
        src, tgt = make(rng)
        key = "".join(src)
        if key in seen:
            misses += 1
            if misses > 100 * n + 1000:
                raise ConfigError(f"transduction dataset {name!r}: cannot draw {n} distinct examples with these "
                                  f"lengths (found {len(out)}); allow longer sources or ask for fewer")
            continue
        seen.add(key)
        out.append((src, tgt))
    return out


def transduction_data(name: str, n_train: int = 10_000, n_valid: int = 500, n_test: int = 500, *, seed: int = 0,
                      min_len: int | None = None, max_len: int | None = None) -> dict[str, list[Pair]]:
    """{"train", "valid", "test"} lists of (source tokens, target tokens), all sources distinct.
    For reverse and sort, source lengths are uniform in [min_len, max_len] (default 1–10) before
    duplicates are redrawn."""
    return disjoint_splits(lambda n, **kw: transduction_pairs(name, n, **kw),
                           {"train": n_train, "valid": n_valid, "test": n_test}, seed,
                           order=("test", "valid", "train"), min_len=min_len, max_len=max_len)
