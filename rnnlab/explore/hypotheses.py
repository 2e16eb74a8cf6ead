"""Hypotheses: one number per token that a unit might track (Karpathy et al. 2015) — inside a
quote or not, a running count, the position in the line, any function of the text.

`rank_units` (search.py) correlates them with recorded units. `preset_hypotheses(level)` are the
ones the page offers for any text; `dataset_hypotheses(name)` those natural to a synthetic memory
dataset (counting a^N X b^N: the count).
"""
from __future__ import annotations

import re
from typing import Callable, Iterable, Sequence

import numpy as np

from rnnlab.datasets.synthetic import SYNTHETIC_DATASETS
from rnnlab.errors import ConfigError, DataError

Hypothesis = Callable[[list[str]], np.ndarray]


def regex_hypothesis(tokens: Sequence[str], pattern: str | re.Pattern) -> np.ndarray:
    """1.0 for tokens that overlap a match of `pattern` in "".join(tokens), else 0.0.

    Runs in this process with no time limit: for trusted patterns (presets). A pattern typed by a
    user goes through `RegexMatcher` (bounded_regex.py) and `spans_hypothesis`."""
    try:
        regex = re.compile(pattern)
    except re.error as e:
        raise DataError(f"bad regular expression {pattern!r}: {e}") from None
    return spans_hypothesis(tokens, [m.span() for m in regex.finditer("".join(tokens))])


def spans_hypothesis(tokens: Sequence[str], spans: Iterable[tuple[int, int]]) -> np.ndarray:
    """1.0 for tokens that overlap one of the character `spans` of "".join(tokens), else 0.0."""
    ends = np.cumsum([len(t) for t in tokens])  # token k covers characters [ends[k-1], ends[k])
    starts = ends - [len(t) for t in tokens]
    out = np.zeros(len(tokens))
    for a, b in spans:
        if a == b:
            continue  # an empty match covers no token
        first = np.searchsorted(ends, a, side="right")  # first token ending after a
        last = np.searchsorted(starts, b, side="left")  # tokens starting before b
        out[first:last] = 1.0
    return out


def _token_set(spec: str | Iterable[str] | None) -> set[str]:
    """A str is one token (use a set for several); None is no token."""
    if spec is None:
        return set()
    return {spec} if isinstance(spec, str) else set(spec)


def counter_hypothesis(tokens: Sequence[str], up: str | set, down: str | set | None = None,
                       reset: str | set | None = None) -> np.ndarray:
    """Running count after each token: +1 on `up`, −1 on `down`, back to 0 on `reset`.

    Each of up / down / reset is one token (a str) or a set of tokens.
    """
    up, down, reset = _token_set(up), _token_set(down), _token_set(reset)
    out, count = np.zeros(len(tokens)), 0.0
    for t, tok in enumerate(tokens):
        if tok in reset:
            count = 0.0
        elif tok in up:
            count += 1.0
        elif tok in down:
            count -= 1.0
        out[t] = count
    return out


def position_hypothesis(tokens: Sequence[str], reset: str | set = "\n") -> np.ndarray:
    """Steps since the last `reset` token (0 on it; the text starts as if just after one)."""
    reset = _token_set(reset)
    out, since = np.zeros(len(tokens)), 0.0
    for t, tok in enumerate(tokens):
        since = 0.0 if tok in reset else since + 1.0
        out[t] = since
    return out


def function_hypothesis(tokens: Sequence[str], fn: Callable[[list[str]], Sequence[float]]) -> np.ndarray:
    """Any function of the token list that gives one finite number per token."""
    try:
        values = np.asarray(fn(list(tokens)), dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise DataError(f"hypothesis function did not return numbers: {e}") from None
    if values.shape != (len(tokens),):
        raise DataError(f"hypothesis function returned shape {values.shape}, expected ({len(tokens)},): "
                        f"one value per token")
    if not np.isfinite(values).all():
        raise DataError("hypothesis function returned NaN or infinite values")
    return values


def preset_hypotheses(level: str) -> dict[str, Hypothesis]:
    """Quantities worth testing on any text (Karpathy et al. 2015 found units for each in code)."""
    if level == "word":
        return {"position in the sentence": lambda t: position_hypothesis(t, "<eos>")}
    return {
        "position in the line": lambda t: position_hypothesis(t, "\n"),
        "inside quotes": lambda t: regex_hypothesis(t, r"\"[^\"\n]*\"|'[^'\n]*'"),
        "bracket depth ( [ {": lambda t: counter_hypothesis(t, {"(", "[", "{"}, {")", "]", "}"}),
        "indentation": lambda t: regex_hypothesis(t, r"(?m)^[ \t]+"),
        "inside a # comment": lambda t: regex_hypothesis(t, r"#[^\n]*"),
    }


def _after_first(tokens: list[str]) -> np.ndarray:
    """+1 from an A to the end of its line, −1 from a B, 0 elsewhere (newlines included)."""
    out, sign = np.zeros(len(tokens)), 0.0
    for t, tok in enumerate(tokens):
        if tok == "\n":
            sign = 0.0
        elif tok in ("A", "B"):
            sign = 1.0 if tok == "A" else -1.0
        out[t] = sign
    return out


def dataset_hypotheses(name: str) -> dict[str, Hypothesis]:
    """The natural hypotheses of a synthetic memory dataset (`rnnlab.datasets.synthetic`): label → (tokens → one value per token)."""
    table = {
        "counting": {
            "count (+1 per a, -1 per b)": lambda toks: counter_hypothesis(toks, "a", "b", "\n"),
            "after the X (b part)": lambda toks: regex_hypothesis(toks, r"Xb*"),
        },
        "selective-counting": {
            "count of a's (-1 per b)": lambda toks: counter_hypothesis(toks, "a", "b", "\n"),
            "noise (X)": lambda toks: regex_hypothesis(toks, "X"),
            "after the Y (b part)": lambda toks: regex_hypothesis(toks, r"Yb*"),
        },
        "start-symbol": {
            "start symbol (+1 after A, -1 after B)": _after_first,
            "x's seen": lambda toks: counter_hypothesis(toks, "x", None, "\n"),
        },
        "copy": {
            "in the copy (after |)": lambda toks: regex_hypothesis(toks, r"\|[^\n]*"),
            "steps since |": lambda toks: position_hypothesis(toks, {"|", "\n"}),
        },
    }
    if name not in table:
        raise ConfigError(f"unknown synthetic dataset {name!r}; choose one of: {', '.join(SYNTHETIC_DATASETS)}")
    return {**table[name], "position in the line": lambda toks: position_hypothesis(toks, "\n")}
