"""A sentiment treebank made in code: every phrase labelled by a compositional rule, so the label of
a sentence depends on its tree, not only on its words.

Words: positive ("good", "fine", ...), negative ("bad", "dull", ...), neutral ("film", "the", ...),
the negator "not" and the intensifier "very". Each phrase has a value in −2 … 2, written as the
label "0" … "4" (the Sentiment Treebank's five classes):

    a word                 +1 positive, −1 negative, 0 otherwise
    (not X)                −value(X)                         negation flips what it scopes over
    (very X)               clamp(2 · value(X))               intensifies it
    (X Y), otherwise       clamp(value(X) + value(Y))        clamp to [−2, 2]

Trees are random binary bracketings (every split point equally likely) of 2 … 10 words, so "not"
sometimes scopes over a single word and sometimes over a whole phrase — a bag of words cannot tell
"(not (good film))" from "((not good) (good film))". Deterministic from the seed; no sentence in
two splits.
"""
from __future__ import annotations

import random

from rnnlab.data.trees import Tree
from rnnlab.datasets.splits import disjoint_splits
from rnnlab.errors import ConfigError

POSITIVE = ("good", "great", "fine", "funny", "smart")
NEGATIVE = ("bad", "dull", "awful", "boring", "weak")
NEUTRAL = ("the", "film", "plot", "story", "acting", "was", "and")
NEGATOR, INTENSIFIER = "not", "very"
TREE_DATASETS = {"polarity": "random binary trees over sentiment words with 'not' and 'very' (5 classes per phrase)"}


def _value(word: str) -> int:
    return 1 if word in POSITIVE else -1 if word in NEGATIVE else 0


def _build(words: list[str], rng: random.Random) -> tuple[Tree, int]:
    """A random bracketing of `words` with every node labelled; (tree, value)."""
    if len(words) == 1:
        v = _value(words[0])
        return Tree(str(v + 2), word=words[0]), v
    cut = rng.randint(1, len(words) - 1)
    (left, lv), (right, rv) = _build(words[:cut], rng), _build(words[cut:], rng)
    if left.is_leaf and left.word == NEGATOR:
        v = -rv
    elif left.is_leaf and left.word == INTENSIFIER:
        v = max(-2, min(2, 2 * rv))
    else:
        v = max(-2, min(2, lv + rv))
    return Tree(str(v + 2), (left, right)), v


def _draw(n: int, *, seed: int, exclude: set, min_len: int, max_len: int) -> list[Tree]:
    rng = random.Random(seed)
    vocab = POSITIVE + NEGATIVE + NEUTRAL + (NEGATOR,) * 3 + (INTENSIFIER,) * 2  # operators often enough to matter
    out = []
    while len(out) < n:
        words = [rng.choice(vocab) for _ in range(rng.randint(min_len, max_len))]
        tree, _ = _build(words, rng)
        key = repr(tree)
        if key in exclude:
            continue
        exclude.add(key)
        out.append(tree)
    return out


def tree_data(name: str, n_train: int, n_valid: int, n_test: int, *, seed: int = 0, min_len: int | None = None,
              max_len: int | None = None) -> dict[str, list[Tree]]:
    """{train, valid, test} labelled trees of the named generated dataset."""
    if name not in TREE_DATASETS:
        raise ConfigError(f"unknown tree dataset {name!r}; choose one of: {', '.join(TREE_DATASETS)}")
    lo, hi = min_len or 2, max_len or 10
    if not 1 <= lo <= hi:
        raise ConfigError(f"need 1 <= min_len <= max_len, got {lo} and {hi}")
    return disjoint_splits(_draw, {"train": n_train, "valid": n_valid, "test": n_test}, seed, min_len=lo, max_len=hi)
