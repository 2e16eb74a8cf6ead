"""Sequence classification tasks made in code: is a string in a formal language?

    parity     "0110"          → even     "0111"          → odd
    balanced   "(()())"        → balanced "())(()"        → unbalanced
    reber      "BTBPVVETE"     → valid    "BTBPVVEPE"     → invalid   (embedded Reber grammar)

Tokens are single characters. Each task is a pair of classes, drawn in pairs — one string of each
class with the same length — so the classes are balanced 50/50 and have the same length
distribution: length is never a cue. The negatives are made hard where the language allows:

- balanced: an unbalanced string is a balanced one with a "(" and a later ")" swapped, so it has
  as many "(" as ")" (counting is no cue) and, from length 6 on, still starts with "(" and ends
  with ")"; only tracking the nesting depth tells it apart. (Shorter ones cannot hide it: the only
  such strings of length 4 are balanced.)
- reber: half the invalid strings break only the long-range agreement of the embedded grammar
  (B T <Reber> T E or B P <Reber> P E: the second symbol is flipped, or the second-to-last), every
  local transition staying legal, so the model must carry the symbol after B across the whole
  inner string (Hochreiter & Schmidhuber 1997); the other half have one inner symbol replaced by
  one the grammar does not allow there.

Positives are uniform over the strings of their length (a Dyck word, a Reber string), lengths
uniform in [min_len, max_len] before duplicates are redrawn. `classification_data` is
deterministic from its seed and no string occurs twice within or across splits. Train is drawn
first, then valid, then test, each from its own random stream: the short lengths have only a few
strings each, and they belong in training (a model that never saw a 6-bracket string misjudges
them), so the held-out splits are mostly the longer strings.
"""
from __future__ import annotations

import math
import random
from functools import lru_cache
from typing import Callable

from rnnlab.data.labelled import LabelledExample
from rnnlab.datasets.splits import disjoint_splits
from rnnlab.errors import ConfigError

CLASSIFICATION_DATASETS: dict[str, str] = {
    "parity": "a bit string -> 'even' or 'odd' number of 1s",
    "balanced": "a string of brackets -> 'balanced' or 'unbalanced' (same length and bracket counts either way)",
    "reber": "embedded Reber grammar -> 'valid' or 'invalid' (half the invalid ones break only the long-range T...T/P...P)",
}
CLASSES: dict[str, tuple[str, str]] = {
    "parity": ("even", "odd"), "balanced": ("balanced", "unbalanced"), "reber": ("valid", "invalid"),
}
DEFAULT_LENGTHS: dict[str, tuple[int, int]] = {"parity": (1, 16), "balanced": (2, 20), "reber": (9, 24)}

Pair = tuple[str, str]  # (a string of the first class, one of the second), the same length


# --- parity ---------------------------------------------------------------------------------------

def _parity_pair(rng: random.Random, length: int) -> Pair:
    """Two independent bit strings; the last bit fixes the parity, so each is uniform over its class."""
    def draw(odd: int) -> str:
        bits = [rng.randint(0, 1) for _ in range(length - 1)]
        return "".join(map(str, bits + [(sum(bits) + odd) % 2]))
    return draw(0), draw(1)


# --- balanced brackets ----------------------------------------------------------------------------

def is_balanced(s: str) -> bool:
    depth = 0
    for ch in s:
        depth += 1 if ch == "(" else -1
        if depth < 0:
            return False
    return depth == 0


def _paths(steps: int, height: int) -> int:
    """±1 paths of `steps` steps from `height` down to 0 that never go below 0 (ballot numbers)."""
    if height < 0 or height > steps or (steps - height) % 2:
        return 0
    ups = (steps - height) // 2
    return math.comb(steps, ups) - (math.comb(steps, ups - 1) if ups else 0)


def _dyck(rng: random.Random, length: int) -> str:
    """A balanced string drawn uniformly among those of `length` (even): each "(" is chosen with
    probability (completions after it) / (completions now)."""
    out, depth = [], 0
    for left in range(length, 0, -1):
        if rng.randrange(_paths(left, depth)) < _paths(left - 1, depth + 1):
            out.append("(")
            depth += 1
        else:
            out.append(")")
            depth -= 1
    return "".join(out)


def _unbalancing_swaps(s: str, keep_ends: bool) -> list[str]:
    """`s` with one "(" and a later ")" swapped, every way that leaves it unbalanced; `keep_ends`:
    only swaps that keep the first "(" and the last ")" in place (no cue at the ends)."""
    first, last = (1, len(s) - 1) if keep_ends else (0, len(s))
    swaps = (s[:i] + ")" + s[i + 1:j] + "(" + s[j + 1:]
             for i in range(first, last) for j in range(i + 1, last) if s[i] == "(" and s[j] == ")")
    return [t for t in swaps if not is_balanced(t)]


def _balanced_pair(rng: random.Random, length: int) -> Pair:
    """A uniform balanced string, and an unbalanced one made from another balanced string by a swap.
    From length 6 on, the swap keeps the ends; a deeply nested string such as "((()))" has no such
    swap, so the source of the negative is redrawn until it has one."""
    positive = _dyck(rng, length)
    while True:
        source = _dyck(rng, length)
        wrong = _unbalancing_swaps(source, keep_ends=length >= 6)
        if wrong:
            return positive, rng.choice(wrong)


# --- embedded Reber grammar -----------------------------------------------------------------------

# Reber's automaton between its B and E: state → ((symbol, next state), ...); state 5 is the end.
_REBER = {0: (("T", 1), ("P", 2)), 1: (("S", 1), ("X", 3)), 2: (("T", 2), ("V", 4)),
          3: (("X", 2), ("S", 5)), 4: (("P", 3), ("V", 5))}
_REBER_END = 5
REBER_SYMBOLS = "BTSXPVE"


def is_reber(s: str) -> bool:
    """Is `s` a string of the (plain) Reber grammar, B … E?"""
    if len(s) < 2 or s[0] != "B" or s[-1] != "E":
        return False
    state = 0
    for ch in s[1:-1]:
        state = dict(_REBER.get(state, ())).get(ch)
        if state is None:
            return False
    return state == _REBER_END


def is_embedded_reber(s: str) -> bool:
    """B T <Reber> T E or B P <Reber> P E."""
    return len(s) >= 4 and s[0] == "B" and s[1] in "TP" and s[-2] == s[1] and s[-1] == "E" and is_reber(s[2:-2])


@lru_cache(maxsize=None)
def _reber_ways(state: int, steps: int) -> int:
    """Symbol strings of length `steps` that lead from `state` to the end."""
    if state == _REBER_END:
        return int(steps == 0)
    if steps == 0:
        return 0
    return sum(_reber_ways(nxt, steps - 1) for _, nxt in _REBER[state])


def _reber(rng: random.Random, length: int) -> str:
    """An embedded Reber string drawn uniformly among those of `length` (at least 9)."""
    steps, state, out = length - 6, 0, []  # 6 = B, T|P, B ... E, T|P, E
    while state != _REBER_END:
        pick = rng.randrange(_reber_ways(state, steps))
        for symbol, nxt in _REBER[state]:
            pick -= _reber_ways(nxt, steps - 1)
            if pick < 0:
                break
        out.append(symbol)
        state, steps = nxt, steps - 1
    wrap = rng.choice("TP")
    return f"B{wrap}B{''.join(out)}E{wrap}E"


def _reber_pair(rng: random.Random, length: int) -> Pair:
    s = _reber(rng, length)
    if rng.random() < 0.5:  # long-range: only the agreement of the two T|P is broken
        i = rng.choice((1, length - 2))
        return s, s[:i] + ("P" if s[i] == "T" else "T") + s[i + 1:]
    wrong = [s[:i] + c + s[i + 1:] for i in range(3, length - 3) for c in "TSXPV"
             if c != s[i] and not is_embedded_reber(s[:i] + c + s[i + 1:])]
    return s, rng.choice(wrong)


# --- the data sets --------------------------------------------------------------------------------

_PAIRS: dict[str, Callable[[random.Random, int], Pair]] = {
    "parity": _parity_pair, "balanced": _balanced_pair, "reber": _reber_pair,
}


def _lengths(name: str, min_len: int | None, max_len: int | None) -> list[int]:
    lo, hi = DEFAULT_LENGTHS[name]
    hi = hi if max_len is None else max_len
    lo = min(lo, hi) if min_len is None else min_len  # a max_len below the default min_len alone is no contradiction
    if not 1 <= lo <= hi:
        raise ConfigError(f"need 1 <= min_len <= max_len, got min_len={lo}, max_len={hi}")
    shortest, step = {"parity": (1, 1), "balanced": (2, 2), "reber": (9, 1)}[name]
    lengths = [n for n in range(max(lo, shortest), hi + 1) if n % step == 0]
    if not lengths:
        what = {"balanced": "balanced strings have an even length, at least 2",
                "reber": "embedded Reber strings have at least 9 symbols"}.get(name, "")
        raise ConfigError(f"dataset {name!r}: no strings with lengths in [{lo}, {hi}] ({what})")
    return lengths


def classification_examples(name: str, n: int, *, seed: int = 0, min_len: int | None = None,
                            max_len: int | None = None, exclude: set[str] | None = None) -> list[LabelledExample]:
    """`n` distinct examples of dataset `name` (half of each class, in random order) whose strings are
    not in `exclude` (which is updated)."""
    if name not in CLASSIFICATION_DATASETS:
        raise ConfigError(f"unknown classification dataset {name!r}; choose one of: {', '.join(CLASSIFICATION_DATASETS)}")
    if n < 0:
        raise ConfigError(f"the number of examples must be >= 0, got {n}")
    lengths, make, classes = _lengths(name, min_len, max_len), _PAIRS[name], CLASSES[name]
    rng, seen = random.Random(f"{name}:{seed}"), set() if exclude is None else exclude
    out: list[LabelledExample] = []
    misses = 0
    while len(out) < n:
        pair = make(rng, rng.choice(lengths))
        if pair[0] in seen or pair[1] in seen:
            misses += 1
            if misses > 100 * n + 1000:
                raise ConfigError(f"classification dataset {name!r}: cannot draw {n} distinct examples with lengths "
                                  f"{lengths[0]}..{lengths[-1]} (found {len(out)}); allow longer strings or ask for fewer")
            continue
        keep = [0, 1] if n - len(out) >= 2 else [rng.randrange(2)]  # an odd n: the last class by a coin
        for k in keep:
            seen.add(pair[k])
            out.append(LabelledExample(tuple(pair[k]), classes[k]))
    rng.shuffle(out)
    return out


def classification_data(name: str, n_train: int = 2000, n_valid: int = 200, n_test: int = 200, *, seed: int = 0,
                        min_len: int | None = None, max_len: int | None = None) -> dict[str, list[LabelledExample]]:
    """{"train", "valid", "test"} lists of character-level examples, all strings distinct.
    Default lengths: parity 1–16, balanced 2–20 (even lengths only), reber 9–24."""
    # train first: the short lengths have only a handful of strings, and a model that never saw
    # them in training gets them wrong (seen: "(()())" called unbalanced at 98.5 % test accuracy)
    return disjoint_splits(lambda n, **kw: classification_examples(name, n, **kw),
                           {"train": n_train, "valid": n_valid, "test": n_test}, seed,
                           order=("train", "valid", "test"), min_len=min_len, max_len=max_len)
