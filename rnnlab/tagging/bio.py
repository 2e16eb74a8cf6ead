"""BIO-consistent decoding: the best tag sequence that is a valid chunking.

Taking the argmax tag at each word can produce `O I-city` or `B-city I-date`, sequences no gold
annotation has (an I- tag continues the chunk the previous word began). Per-step softmaxes do not
know about each other, so instead of the independent argmaxes this finds

    y* = argmax_y  Σ_t log p(y_t | x)   over the y where every I-X follows B-X or I-X,

exactly, by Viterbi over the tag posteriors the network already gives (no learned transition
scores: this is not a CRF, and training is unchanged). Tags that are not I-… (O, B-X, or tags of
a non-BIO tag set) are unconstrained, so for POS tags it is the plain argmax.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from rnnlab.errors import DataError


def bio_constraints(tags: Sequence[str]) -> tuple[Tensor, Tensor]:
    """(start (K,), follows (K, K)) booleans: tag j may begin a sentence; tag j may follow tag i."""
    K = len(tags)
    start = torch.ones(K, dtype=torch.bool)
    follows = torch.ones(K, K, dtype=torch.bool)
    for j, tag in enumerate(tags):
        if tag.startswith("I-"):
            kind = tag[2:]
            start[j] = False
            follows[:, j] = torch.tensor([t in (f"B-{kind}", f"I-{kind}") for t in tags])
    return start, follows


def bio_viterbi(log_probs: Tensor, lengths: Tensor, start: Tensor, follows: Tensor) -> Tensor:
    """Best valid tag ids (T, B) from log-probabilities (T, B, K) and lengths (B,); steps past a
    sentence's length repeat its last tag (callers cut at the length)."""
    if log_probs.dim() != 3 or log_probs.shape[-1] != start.shape[0]:
        raise DataError(f"bio_viterbi: expected (T, B, {start.shape[0]}) scores, got {tuple(log_probs.shape)}")
    zero = log_probs.new_zeros((), dtype=torch.float64)
    return viterbi(log_probs, lengths, torch.where(follows.to(log_probs.device), zero, NEVER),
                   torch.where(start.to(log_probs.device), zero, NEVER))


NEVER = -1e30  # the score of a forbidden transition: "impossible" without the nan of inf - inf


def viterbi(scores: Tensor, lengths: Tensor, transition: Tensor, start: Tensor, end: Tensor | None = None) -> Tensor:
    """argmax_y  start[y_0] + Σ_t scores[t, y_t] + Σ_{t≥1} transition[y_{t-1}, y_t] + end[y_{n-1}]:
    best tag ids (T, B) from per-step scores (T, B, K), lengths (B,), transition scores (K, K)
    (row: previous tag), start and end scores (K,). Steps past a sentence's length repeat its
    last tag (callers cut at the length); padded scores are never read into a kept value."""
    T, B, K = scores.shape
    scores = scores.double()
    transition, start = transition.double().to(scores.device), start.double().to(scores.device)
    best = scores[0] + start                                           # (B, K): δ_0
    back = []
    live = torch.arange(T, device=lengths.device).unsqueeze(1) < lengths.unsqueeze(0)  # (T, B)
    stay = torch.arange(K, device=scores.device).expand(B, K)
    for t in range(1, T):
        total = best.unsqueeze(2) + transition                         # (B, K_prev, K): δ_{t-1}(i) + A(i, j)
        prev_score, prev = total.max(dim=1)                            # best predecessor of each j
        on = live[t].unsqueeze(1).to(scores.device)
        best = torch.where(on, prev_score + scores[t], best)           # δ_t(j) = max_i(…) + s_t(j)
        back.append(torch.where(on, prev, stay))                       # padded steps point to themselves
    if end is not None:
        best = best + end.double().to(scores.device)                   # δ at each sentence's last step + end(j)
    path = [best.argmax(-1)]
    for pointers in reversed(back):
        path.append(pointers.gather(1, path[-1].unsqueeze(1)).squeeze(1))
    return torch.stack(path[::-1])
