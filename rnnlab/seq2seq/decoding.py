"""Decoding a target from a trained `Seq2Seq`: greedy (batched) and beam search (one source).

Both use only `model.encode(src, lengths) -> (memory, state)`, `model.step(prev, state, memory)
-> (logits, state, attention)` and the model's `bos_index` / `eos_index`, so any model with that
interface decodes.

Beam search keeps the `beam_size` best open prefixes by log-probability. Each step expands them
by every token and ranks the candidates: a candidate ending in <eos> among the top `beam_size`
is finished; the others refill the open beam (up to `beam_size`). Finished hypotheses are ranked
by the length-normalised score

    score(Y) = log p(Y | X) / lp(|Y|),   lp = ((5 + |Y|) / 6)^α  (GNMT, Wu et al. 2016; the default)
                                         or lp = |Y|^α           (length_norm="power")

where |Y| counts the emitted tokens including <eos> and α = `length_penalty` (0: raw log-probability,
which favours short outputs). The search stops when `n_best` hypotheses are finished and the best
open prefix can no longer beat the n-th of them: extending a prefix only lowers its log-probability,
so its best possible score is its log-probability over lp(max_len) — exact, not a heuristic.
With beam_size 1 and α = 0 this is greedy decoding, token for token.
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import torch
from torch import Tensor
from torch.nn import functional as F

from rnnlab.data.vocab import Vocabulary
from rnnlab.errors import ConfigError, DataError
from rnnlab.seq2seq.model import pad_batch, select_state
from rnnlab.train.inference import eval_mode

LENGTH_NORMS = ("gnmt", "power")


class Hypothesis(NamedTuple):
    """One decoded output: its ids, scores and (with attention) the weights behind each token."""
    tokens: list[int]         # output ids, without <bos> and <eos>
    score: float              # log_prob / lp(length): what beam search ranks by (= log_prob for greedy)
    log_prob: float           # log p(tokens [+ <eos>] | source)
    finished: bool            # ended with <eos> (False: stopped at max_len)
    attention: Tensor | None  # (steps, S) weights over the real source positions, one row per emitted token


def length_factor(length: int, alpha: float, norm: str = "gnmt") -> float:
    """lp(|Y|): ((5 + |Y|) / 6)^α (GNMT) or |Y|^α (power)."""
    return ((5 + length) / 6) ** alpha if norm == "gnmt" else float(length) ** alpha


def _check_max_len(max_len: int) -> None:
    if max_len < 1:
        raise ConfigError(f"max_len must be >= 1, got {max_len}")


@torch.no_grad()
def greedy_decode(model, src: Tensor, src_lengths: Tensor | None = None, *, max_len: int = 100) -> list[Hypothesis]:
    """Greedy decoding of a batch: src (S, B) ids, src_lengths (B,) → one Hypothesis per column.

    Each step feeds the argmax of the previous one; a row stops at its first <eos> or after
    `max_len` emitted tokens (<eos> included)."""
    _check_max_len(max_len)
    with eval_mode(model):
        memory, state = model.encode(src, src_lengths)
        B = src.shape[1]
        prev = torch.full((B,), model.bos_index, dtype=torch.long, device=src.device)
        done = torch.zeros(B, dtype=torch.bool, device=src.device)
        log_prob = torch.zeros(B, dtype=torch.float64, device=src.device)
        tokens, weights = [], []
        for _ in range(max_len):
            logits, state, w = model.step(prev, state, memory)
            prev = logits.argmax(-1)
            lp = F.log_softmax(logits, -1).gather(1, prev.unsqueeze(1)).squeeze(1)
            log_prob += torch.where(done, torch.zeros_like(lp), lp).double()
            tokens.append(prev)
            weights.append(w)
            done = done | (prev == model.eos_index)
            if bool(done.all()):
                break
    steps = torch.stack(tokens, 1).tolist()  # (B, steps)
    att = None if weights[0] is None else torch.stack(weights, 1)  # (B, steps, S)
    lengths = memory.mask.sum(0).tolist()
    out = []
    for b, row in enumerate(steps):
        n = row.index(model.eos_index) + 1 if model.eos_index in row else len(row)
        finished = n <= len(row) and row[n - 1] == model.eos_index
        lp = float(log_prob[b])
        out.append(Hypothesis(row[:n - 1] if finished else row[:n], lp, lp, finished,
                              None if att is None else att[b, :n, :lengths[b]]))
    return out


@torch.no_grad()
def beam_search(model, src: Tensor, *, beam_size: int = 5, max_len: int = 100, length_penalty: float = 0.0,
                length_norm: str = "gnmt", n_best: int | None = None) -> list[Hypothesis]:
    """Beam search for one source `src` (S,) ids → up to `n_best` (default `beam_size`) hypotheses,
    best first. Finished ones come first, sorted by score; if fewer than `n_best` finished within
    `max_len` steps, the best unfinished prefixes fill the list."""
    if beam_size < 1:
        raise ConfigError(f"beam_size must be >= 1, got {beam_size}")
    if length_penalty < 0:
        raise ConfigError(f"length_penalty must be >= 0, got {length_penalty}")
    if length_norm not in LENGTH_NORMS:
        raise ConfigError(f"unknown length_norm {length_norm!r}; choose one of: {', '.join(LENGTH_NORMS)}")
    _check_max_len(max_len)
    n_best = beam_size if n_best is None else n_best
    if n_best < 1:
        raise ConfigError(f"n_best must be >= 1, got {n_best}")
    if not isinstance(src, Tensor) or src.dim() != 1:
        raise DataError(f"beam_search decodes one source: expected a 1-D tensor of ids, got "
                        f"{tuple(src.shape) if isinstance(src, Tensor) else type(src).__name__}")
    alpha = length_penalty

    def lp(n: int) -> float:
        return length_factor(n, alpha, length_norm)

    with eval_mode(model):
        memory, state = model.encode(src.view(-1, 1))
        device, eos = src.device, model.eos_index
        prefix = torch.zeros(1, 0, dtype=torch.long, device=device)  # (k, t) open prefixes
        scores = torch.zeros(1, dtype=torch.float64, device=device)  # (k,) their log-probabilities
        history: Tensor | None = None                                # (k, t, S) their attention
        prev = torch.full((1,), model.bos_index, dtype=torch.long, device=device)
        finished: list[Hypothesis] = []
        stopped = False
        for t in range(max_len):
            logits, state, w = model.step(prev, state, memory)
            cand = scores.unsqueeze(1) + F.log_softmax(logits, -1).double()  # (k, V)
            V = cand.shape[1]
            top, flat = cand.flatten().topk(min(2 * beam_size, cand.numel()))
            parents, tokens = flat // V, flat % V
            keep = []
            for rank in range(top.shape[0]):
                if int(tokens[rank]) == eos:
                    if rank < beam_size:  # only a top-k <eos> ends a hypothesis (so k = 1 is greedy)
                        p = int(parents[rank])
                        att = None if w is None else _extend(history, w, parents[rank:rank + 1])[0]
                        finished.append(Hypothesis(prefix[p].tolist(), float(top[rank]) / lp(t + 1),
                                                   float(top[rank]), True, att))
                elif len(keep) < beam_size:
                    keep.append(rank)
            if not keep:
                stopped = True
                break
            keep_t = torch.tensor(keep, device=device)
            idx = parents[keep_t]
            prefix = torch.cat([prefix[idx], tokens[keep_t].unsqueeze(1)], 1)
            scores, prev = top[keep_t], tokens[keep_t]
            history = None if w is None else _extend(history, w, idx)
            state, memory = select_state(state, idx), memory.select(idx)
            if len(finished) >= n_best:
                nth = sorted((h.score for h in finished), reverse=True)[n_best - 1]
                if float(scores.max()) / lp(max_len) <= nth:  # no open prefix can overtake the n-th
                    stopped = True
                    break
    finished.sort(key=lambda h: -h.score)
    if not stopped and len(finished) < n_best:  # ran out of steps: fill with the best open prefixes
        S = int(memory.mask[:, 0].sum())
        opened = [Hypothesis(prefix[i].tolist(), float(scores[i]) / lp(max_len), float(scores[i]), False,
                             None if history is None else history[i, :, :S]) for i in range(prefix.shape[0])]
        finished += sorted(opened, key=lambda h: -h.score)
    return finished[:n_best]


def _extend(history: Tensor | None, w: Tensor, index: Tensor) -> Tensor:
    """Attention rows of the chosen parents with this step's weights appended: (k', t + 1, S)."""
    step = w.index_select(0, index).unsqueeze(1)
    return step if history is None else torch.cat([history.index_select(0, index), step], 1)


def translate(model, src_vocab: Vocabulary, tgt_vocab: Vocabulary, sources: Sequence[Sequence[str]], *,
              beam_size: int = 1, max_len: int = 100, length_penalty: float = 0.0) -> list[list[str]]:
    """Token lists in, token lists out: greedy (batched) for beam_size 1, else beam search per source."""
    ids = [src_vocab.encode(list(s)) for s in sources]
    if any(len(s) == 0 for s in ids):
        raise DataError("translate: every source needs at least one token")
    if beam_size == 1:
        src, lengths = pad_batch(ids, 0)
        hyps = greedy_decode(model, src, lengths, max_len=max_len)
    else:
        hyps = [beam_search(model, s, beam_size=beam_size, max_len=max_len, length_penalty=length_penalty)[0]
                for s in ids]
    return [tgt_vocab.decode(h.tokens) for h in hyps]
