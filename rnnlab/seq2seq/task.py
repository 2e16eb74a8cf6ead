"""Encoder–decoder training as a trainer task, with teacher forcing, free running and scheduled
sampling (Bengio et al. 2015).

Every update takes a batch of (source, target) pairs from a per-epoch shuffle that depends only
on (seed, epoch), so a resumed run sees the same batches. The decoder is fed, at each step, the
true previous token with probability ε_i, else its own previous argmax; ε_i comes from a
`SamplingSchedule` evaluated at the update count i = (epoch − 1) · num_batches + index, and the
per-token coins from torch's global RNG, which checkpoints save — so resume stays exact.
The loss is the mean cross-entropy over the real target tokens, <eos> included.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Iterable, Sequence

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

from rnnlab.data.vocab import Vocabulary
from rnnlab.errors import ConfigError, DataError
from rnnlab.seq2seq.decoding import beam_search, greedy_decode
from rnnlab.seq2seq.model import pad_batch
from rnnlab.train.inference import eval_mode
from rnnlab.train.shuffle import EpochShuffle
from rnnlab.train.trainer import StepOutput

PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"
Pair = tuple[Sequence[str], Sequence[str]]


def build_vocabularies(pairs: Iterable[Pair], *, unk: str | None = None) -> tuple[Vocabulary, Vocabulary]:
    """Source vocabulary (<pad>, then tokens) and target vocabulary (<pad>, <bos>, <eos>, then
    tokens) from training pairs — ids 0, 1, 2 are Seq2Seq's default pad, bos and eos. With `unk`
    unseen tokens encode to it; without (the default, right for generated character tasks) they
    are an error."""
    pairs = list(pairs)
    src = Vocabulary.build((t for s, _ in pairs for t in s), specials=(PAD,), unk=unk)
    tgt = Vocabulary.build((t for _, y in pairs for t in y), specials=(PAD, BOS, EOS), unk=unk)
    return src, tgt


SCHEDULES = ("constant", "linear", "exponential", "inverse-sigmoid")


@dataclass(frozen=True)
class SamplingSchedule:
    """ε_i, the probability of feeding the true previous token at update i = 0, 1, …, in the
    notation of Bengio et al. (2015), section 2.4:

        constant          ε_i = k                  (1: teacher forcing, 0: free running)
        linear            ε_i = max(ε, k − c·i)
        exponential       ε_i = k^i                (k < 1)
        inverse-sigmoid   ε_i = k / (k + exp(i/k)) (k ≥ 1)
    """
    kind: str = "constant"
    k: float = 1.0
    c: float = 0.0        # linear: decrease per update
    epsilon: float = 0.0  # linear: the floor

    def __post_init__(self):
        if self.kind not in SCHEDULES:
            raise ConfigError(f"unknown sampling schedule {self.kind!r}; choose one of: {', '.join(SCHEDULES)}")
        if self.kind == "constant" and not 0.0 <= self.k <= 1.0:
            raise ConfigError(f"constant schedule: k is a probability, got {self.k}")
        if self.kind == "linear" and not (0.0 <= self.epsilon <= 1.0 and self.c >= 0.0):
            raise ConfigError(f"linear schedule: need 0 <= epsilon <= 1 and c >= 0, "
                              f"got epsilon {self.epsilon}, c {self.c}")
        if self.kind == "exponential" and not 0.0 < self.k < 1.0:
            raise ConfigError(f"exponential schedule: need 0 < k < 1, got {self.k}")
        if self.kind == "inverse-sigmoid" and not self.k >= 1.0:
            raise ConfigError(f"inverse-sigmoid schedule: need k >= 1, got {self.k}")

    @classmethod
    def teacher_forcing(cls) -> SamplingSchedule:
        return cls("constant", 1.0)

    @classmethod
    def free_running(cls) -> SamplingSchedule:
        return cls("constant", 0.0)

    @classmethod
    def linear(cls, c: float, *, k: float = 1.0, epsilon: float = 0.0) -> SamplingSchedule:
        return cls("linear", k, c, epsilon)

    @classmethod
    def exponential(cls, k: float) -> SamplingSchedule:
        return cls("exponential", k)

    @classmethod
    def inverse_sigmoid(cls, k: float) -> SamplingSchedule:
        return cls("inverse-sigmoid", k)

    def __call__(self, i: int) -> float:
        if i < 0:
            raise ValueError(f"update count must be >= 0, got {i}")
        if self.kind == "constant":
            return self.k
        if self.kind == "linear":
            return min(1.0, max(self.epsilon, self.k - self.c * i))
        if self.kind == "exponential":
            return self.k ** i
        return self.k / (self.k + math.exp(min(i / self.k, 700.0)))  # exp(700) is near float's limit

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> SamplingSchedule:
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise ConfigError(f"unknown sampling schedule option(s) {unknown}")
        return cls(**data)


class Seq2SeqTask:
    """Trainer task for a `Seq2Seq` model on pairs of token lists.

    `splits`: {"train": [(source tokens, target tokens), …], "valid": …, …}. `teacher_forcing`:
    a probability (constant ε) or a `SamplingSchedule`.

    `evaluate(model, split)` reports "loss" (teacher-forced cross-entropy per target token, <eos>
    included), "token_accuracy" (teacher-forced: the argmax at each target position equals the
    true token), "exact_match" (greedy decoding reproduces the whole target) and "error"
    (1 − exact_match, the metric: lower is better). Decoding is greedy with `beam_size` 1, else
    beam search (one source at a time, slower) with GNMT length normalisation `length_penalty`.
    """
    metric = "error"

    def __init__(self, splits: dict[str, list[Pair]], src_vocab: Vocabulary, tgt_vocab: Vocabulary, *,
                 batch_size: int = 32, seed: int = 0, teacher_forcing: float | SamplingSchedule = 1.0,
                 eval_batch_size: int = 128, beam_size: int = 1, length_penalty: float = 0.0):
        if "train" not in splits or not splits["train"]:
            raise DataError("sequence-to-sequence task: no training pairs (the 'train' split is missing or empty)")
        if batch_size < 1 or eval_batch_size < 1:
            raise ConfigError(f"batch sizes must be >= 1, got {batch_size} and {eval_batch_size}")
        for token in (PAD, BOS, EOS):
            if token not in tgt_vocab:
                raise DataError(f"the target vocabulary has no {token!r} token (build it with build_vocabularies)")
        if beam_size < 1 or length_penalty < 0:
            raise ConfigError(f"need beam_size >= 1 and length_penalty >= 0, got {beam_size} and {length_penalty}")
        self.beam_size, self.length_penalty = beam_size, length_penalty
        if not isinstance(teacher_forcing, SamplingSchedule):
            teacher_forcing = SamplingSchedule("constant", float(teacher_forcing))
        self.schedule = teacher_forcing
        self.src_vocab, self.tgt_vocab = src_vocab, tgt_vocab
        self.batch_size, self.eval_batch_size, self.seed = batch_size, eval_batch_size, seed
        self.pad, self.bos, self.eos = (tgt_vocab.index(t) for t in (PAD, BOS, EOS))
        self.src_pad = src_vocab.index(PAD) if PAD in src_vocab else 0  # never read: lengths mask it
        self.splits = {name: self._encode(name, pairs) for name, pairs in splits.items()}
        self.shuffle = EpochShuffle(len(self.splits["train"]), seed)

    def _encode(self, split: str, pairs: list[Pair]) -> list[tuple[Tensor, Tensor]]:
        out = []
        for n, pair in enumerate(pairs):
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
                raise DataError(f"{split} example {n}: expected a (source tokens, target tokens) pair")
            src, tgt = pair
            if len(src) == 0:
                raise DataError(f"{split} example {n}: empty source")
            try:
                ids = self.src_vocab.encode(list(src)), self.tgt_vocab.encode(list(tgt) + [EOS])
            except DataError as e:
                raise DataError(f"{split} example {n}: {e}") from None
            out.append(ids)
        return out

    def num_batches(self) -> int:
        return self.shuffle.num_batches(self.batch_size)

    def shard(self, rank: int, world_size: int) -> None:
        """Distributed training: this process reads its part of each global batch."""
        self.shuffle.shard(rank, world_size)

    def teacher_forcing_at(self, epoch: int, index: int) -> float:
        """ε for update `index` of `epoch` (1-based epochs): the schedule at the update count."""
        return self.schedule((epoch - 1) * self.num_batches() + index)

    def epoch_order(self, epoch: int) -> np.ndarray:
        """The training examples' order in `epoch`: a permutation fixed by (seed, epoch) alone."""
        return self.shuffle(epoch)

    def batch(self, pairs: list[tuple[Tensor, Tensor]]) -> tuple[Tensor, Tensor, Tensor]:
        """→ src (S, B), src_lengths (B,), tgt (T, B) ending in <eos>, padded with <pad>."""
        src, lengths = pad_batch([s for s, _ in pairs], self.src_pad)
        tgt, _ = pad_batch([t for _, t in pairs], self.pad)
        return src, lengths, tgt

    def _check_model(self, model) -> None:
        got = (model.pad_index, model.bos_index, model.eos_index)
        if got != (self.pad, self.bos, self.eos):
            raise ConfigError(f"the model's (pad, bos, eos) ids {got} are not the target vocabulary's "
                              f"{(self.pad, self.bos, self.eos)}")

    def train_step(self, model, epoch: int, index: int, carry) -> StepOutput:
        self._check_model(model)
        order = self.shuffle.batch(epoch, index, self.batch_size)
        train = self.splits["train"]
        src, lengths, tgt = self.batch([train[i] for i in order])
        device = next(model.parameters()).device
        logits, _ = model(src.to(device), lengths.to(device), tgt.to(device),
                          teacher_forcing=self.teacher_forcing_at(epoch, index))
        loss = F.cross_entropy(logits.flatten(0, 1), tgt.to(device).flatten(), ignore_index=self.pad)
        return StepOutput(loss, int((tgt != self.pad).sum()))

    @torch.no_grad()
    def evaluate(self, model, split: str) -> dict[str, float]:
        if split not in self.splits:
            raise DataError(f"no {split!r} split to evaluate on (have: {', '.join(self.splits)})")
        self._check_model(model)
        pairs = self.splits[split]
        if not pairs:
            raise DataError(f"the {split!r} split is empty")
        device = next(model.parameters()).device
        loss, correct, tokens, exact = 0.0, 0, 0, 0
        with eval_mode(model):
            for a in range(0, len(pairs), self.eval_batch_size):
                chunk = pairs[a:a + self.eval_batch_size]
                src, lengths, tgt = (t.to(device) for t in self.batch(chunk))
                logits, _ = model(src, lengths, tgt)  # teacher forced
                real = tgt != self.pad
                loss += float(F.cross_entropy(logits.flatten(0, 1), tgt.flatten(), ignore_index=self.pad,
                                              reduction="sum"))
                correct += int(((logits.argmax(-1) == tgt) & real).sum())
                tokens += int(real.sum())
                # decoding one step past the longest target is enough to tell a match
                if self.beam_size == 1:
                    hyps = greedy_decode(model, src, lengths, max_len=tgt.shape[0] + 1)
                else:
                    hyps = [beam_search(model, src[:n, b], beam_size=self.beam_size, max_len=tgt.shape[0] + 1,
                                        length_penalty=self.length_penalty, n_best=1)[0]
                            for b, n in enumerate(lengths.tolist())]
                exact += sum(h.finished and h.tokens == t[:-1].tolist() for h, (_, t) in zip(hyps, chunk))
        match = exact / len(pairs)
        return {"loss": loss / tokens, "token_accuracy": correct / tokens, "exact_match": match, "error": 1.0 - match}
