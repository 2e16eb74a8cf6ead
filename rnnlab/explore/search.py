"""Find the units that do something: rank them against a hypothesis, or select and match patterns.

`rank_units` lists the units whose values correlate best with a hypothesis (one number per
token, `rnnlab.explore.hypotheses`; Karpathy et al. 2015). Selection and matching follow LSTMVis (Strobelt et al. 2018): select a span of text and
a threshold, keep the units that are on (≥ threshold) all through the span and off just before it,
then find other spans where the same units turn on together.

Everything here is a pure function on numpy arrays (or `Recording`s); the web page only calls it.
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from rnnlab.errors import DataError
from rnnlab.explore.record import Recording


# --- ranking units by correlation --------------------------------------------------------------

class UnitScore(NamedTuple):
    """One unit's correlation with a hypothesis (what `rank_units` lists, best |r| first)."""
    key: str   # "{layer}/{kind}"
    unit: int
    r: float   # Pearson correlation with the hypothesis over all positions


def _stack_values(values, keys: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """dict / Recording / list of Recordings → key → (positions, units), examples concatenated."""
    if isinstance(values, Recording):
        values = [values]
    if isinstance(values, (list, tuple)):
        if not values:
            raise DataError("no recordings given")
        common = [k for k in values[0].values if all(k in r.values for r in values)]
        values = {k: np.concatenate([r.values[k] for r in values]) for k in common}
    if keys is not None:
        missing = [k for k in keys if k not in values]
        if missing:
            raise DataError(f"no recorded values {missing}; have: {', '.join(values)}")
        values = {k: values[k] for k in keys}
    return {k: np.asarray(v, dtype=np.float64).reshape(-1, np.shape(v)[-1]) for k, v in values.items()}


def rank_units(values: dict[str, np.ndarray] | Recording | list[Recording],
               hypothesis: np.ndarray | Sequence[np.ndarray], keys: Sequence[str] | None = None,
               top: int | None = 20) -> list[UnitScore]:
    """Units by |Pearson r| with the hypothesis, best first (constant units get r = 0).

    For a list of recordings give one hypothesis array per recording (or one array over all
    their positions, concatenated); `keys` restricts the search (e.g. only the ".../c" values).
    """
    stacked = _stack_values(values, keys)
    y = np.concatenate([np.asarray(h, dtype=np.float64).ravel() for h in hypothesis]) \
        if isinstance(hypothesis, (list, tuple)) else np.asarray(hypothesis, dtype=np.float64).ravel()
    y = y - y.mean()
    if not np.any(y):
        raise DataError("the hypothesis is constant over these tokens: nothing can correlate with it")
    scores = []
    for key, v in stacked.items():
        if v.shape[0] != y.shape[0]:
            raise DataError(f"hypothesis has {y.shape[0]} values but {key} has {v.shape[0]} positions")
        v = v - v.mean(0)
        norm = np.sqrt((v * v).sum(0)) * np.sqrt((y * y).sum())
        r = np.divide(y @ v, norm, out=np.zeros(v.shape[1]), where=norm > 0)
        scores += [UnitScore(key, u, float(np.clip(r[u], -1.0, 1.0))) for u in range(v.shape[1])]
    scores.sort(key=lambda s: (-abs(s.r), s.key, s.unit))
    return scores if top is None else scores[:top]


# --- LSTMVis: select units on a span, match the pattern elsewhere ------------------------------

def _check_span(values: np.ndarray, start: int, end: int) -> np.ndarray:
    values = np.asarray(values)
    if values.ndim != 2:
        raise DataError(f"values must be (T, units), got shape {values.shape}")
    if not 0 <= start < end <= values.shape[0]:
        raise DataError(f"span [{start}, {end}) is not inside [0, {values.shape[0]})")
    return values


def select_units(values: np.ndarray, start: int, end: int, threshold: float, off_margin: int = 1) -> list[int]:
    """Units ≥ threshold at every step of [start, end) and < threshold on the `off_margin` steps
    just before `start` (those that exist)."""
    values = _check_span(values, start, end)
    on = (values[start:end] >= threshold).all(0)
    before = values[max(0, start - off_margin):start]
    off = (before < threshold).all(0)  # True when there is no step before
    return [int(u) for u in np.flatnonzero(on & off)]


def value_distribution(values: np.ndarray, start: int, end: int, bins: int = 20) -> dict:
    """Histogram of all units' values over [start, end): {"edges": [bins + 1], "counts": [bins]}."""
    span = _check_span(values, start, end)[start:end]
    counts, edges = np.histogram(span, bins=bins)
    return {"edges": [round(float(e), 4) for e in edges], "counts": [int(c) for c in counts]}


def suggest_threshold(values: np.ndarray, start: int, end: int, fraction: float = 0.1) -> float:
    """A threshold that about `fraction` of the units (at least one) pass all through the span:
    the k-th largest of the units' minima over [start, end)."""
    minima = np.sort(_check_span(values, start, end)[start:end].min(0))[::-1]
    k = max(1, int(round(fraction * minima.size)))
    return float(minima[k - 1])


class Match(NamedTuple):
    """A span of example `example`, tokens [start, end), where the selected units are jointly on."""
    example: int
    start: int
    end: int      # exclusive
    score: float  # Jaccard |on ∩ selected| / |on ∪ selected|


def find_matches(values: np.ndarray | Sequence[np.ndarray], units: Sequence[int], threshold: float,
                 min_length: int = 2, top: int | None = 20) -> list[Match]:
    """Maximal spans (≥ min_length steps) where every selected unit is ≥ threshold, best first.

    A span's score is the Jaccard overlap between the selected units and the units on (≥ threshold)
    over the whole span, so spans where few other units are on rank first; ties go to longer spans.
    `values` is one (T, units) array or a list of them (one per example).
    """
    if not len(units):
        raise DataError("select at least one unit to match")
    arrays = [values] if isinstance(values, np.ndarray) and values.ndim == 2 else list(values)
    selected = set(int(u) for u in units)
    matches = []
    for ex, v in enumerate(arrays):
        v = np.asarray(v)
        if v.ndim != 2 or max(selected) >= v.shape[1] or min(selected) < 0:
            raise DataError(f"example {ex}: values of shape {v.shape} have no units {sorted(selected)}")
        active = (v[:, sorted(selected)] >= threshold).all(1)
        edges = np.diff(np.concatenate([[0], active.astype(np.int8), [0]]))
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
            if b - a < min_length:
                continue
            on = set(np.flatnonzero((v[a:b] >= threshold).all(0)).tolist())
            matches.append(Match(ex, int(a), int(b), len(on & selected) / len(on | selected)))
    matches.sort(key=lambda m: (-m.score, -(m.end - m.start), m.example, m.start))
    return matches if top is None else matches[:top]
