"""Scores for taggers: slot (chunk) precision / recall / F1 as conlleval computes them, intent
accuracy, and per-token accuracy on chosen positions.

Chunks follow conlleval, through `seqeval` in its default mode (not `mode="strict"`): a chunk
starts at B-x, at I-x after O, or at I-x after a tag of another type (I-y or B-y), and runs while
I-x follows. conlleval accepts IOB1 and ill-formed predictions this way; strict IOB2 would drop
a chunk that opens with I-. A predicted chunk counts when its type and both ends match a gold one.
Sentences are scored as one stream with a boundary between them, so no chunk crosses two.
"""
from __future__ import annotations

import warnings
from typing import Callable, Sequence

from rnnlab.errors import DataError


def slot_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict[str, float]:
    """{"precision", "recall", "f1"} over chunks (micro-averaged over types), each in [0, 1].

    No predicted chunks → precision 0; no gold chunks → recall 0 (conlleval prints 0 too).
    """
    from seqeval.metrics import f1_score, precision_score, recall_score  # imports scikit-learn: ~1 s

    gold, predicted = _aligned(gold, predicted)
    with warnings.catch_warnings():  # seqeval warns about non-BIO tags; readers check those
        warnings.simplefilter("ignore")
        kw = dict(average="micro", zero_division=0)
        return {"precision": float(precision_score(gold, predicted, **kw)),
                "recall": float(recall_score(gold, predicted, **kw)),
                "f1": float(f1_score(gold, predicted, **kw))}


def slot_report(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], digits: int = 3) -> str:
    """seqeval's per-type table (precision, recall, F1, support for every slot type) as text."""
    from seqeval.metrics import classification_report

    gold, predicted = _aligned(gold, predicted)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return classification_report(gold, predicted, digits=digits, zero_division=0)


def intent_accuracy(gold: Sequence[str], predicted: Sequence[str]) -> float:
    """Fraction of sentences whose intent is exactly right (a multi-intent label must match as a whole)."""
    if len(gold) != len(predicted):
        raise DataError(f"intent_accuracy: {len(gold)} gold intents but {len(predicted)} predictions")
    if not gold:
        raise DataError("intent_accuracy: no sentences")
    return sum(g == p for g, p in zip(gold, predicted)) / len(gold)


def token_accuracy(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]],
                   where: Callable[[str], bool] | None = None) -> float:
    """Fraction of tokens tagged exactly right, counting only tokens whose gold tag satisfies
    `where` (all tokens when None); e.g. `where=lambda tag: tag != "O"`."""
    gold, predicted = _aligned(gold, predicted)
    hits = total = 0
    for g_sent, p_sent in zip(gold, predicted):
        for g, p in zip(g_sent, p_sent):
            if where is None or where(g):
                total += 1
                hits += g == p
    if total == 0:
        raise DataError("token_accuracy: no token's gold tag is selected by `where`")
    return hits / total


def _aligned(gold, predicted) -> tuple[list[list[str]], list[list[str]]]:
    gold, predicted = [list(s) for s in gold], [list(s) for s in predicted]
    if len(gold) != len(predicted):
        raise DataError(f"{len(gold)} gold sentences but {len(predicted)} predicted ones")
    for i, (g, p) in enumerate(zip(gold, predicted)):
        if len(g) != len(p):
            raise DataError(f"sentence {i}: {len(g)} gold tags but {len(p)} predicted ones")
    return gold, predicted
