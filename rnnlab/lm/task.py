"""Language modelling as a trainer task: next-token cross-entropy over a stream, truncated BPTT.

The training text is laid out as B parallel streams (`batchify`); update i runs window i of the
truncated-BPTT schedule over all B columns, carrying the detached state from the previous
update. Evaluation runs a whole split as a stream with the state carried throughout, so every
token is predicted with its full left context; the loss is the mean negative log-likelihood in
nats per token, reported also as perplexity exp(loss) and, for characters, bits per character
loss / ln 2.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.nn import functional as F

from rnnlab.cells._state import detach
from rnnlab.data.batching import batchify, shard_streams
from rnnlab.errors import DataError
from rnnlab.train.inference import model_device
from rnnlab.train.tbptt import TruncatedBPTT
from rnnlab.train.trainer import StepOutput

EVAL_CHUNK = 256  # steps per forward during evaluation: any size gives the same numbers


class LanguageModelTask:
    """The trainer task of a language model: `splits` maps "train" / "valid" / "test" to 1-D id
    streams; training cuts the train stream into `batch_size` parallel streams (L, B) read by
    truncated BPTT windows (k1 = `bptt`, k2 = `bptt_back`) with the state carried between updates;
    evaluation reads each split as `eval_batch_size` unbroken streams. Metric: loss per token."""

    metric = "loss"

    def __init__(self, splits: dict[str, Tensor], *, level: str, batch_size: int = 32, bptt: int = 100,
                 bptt_back: int | None = None, eval_batch_size: int = 10, loss_sum_over_time: bool = False):
        """`loss_sum_over_time`: back-propagate the loss summed over each update's steps (averaged
        over the batch) instead of averaged over all its tokens — Zaremba et al.'s TensorFlow
        code does this, so their learning rate 1 means a k1-times larger step than with a mean.
        The logged loss is per token either way."""
        if "train" not in splits:
            raise DataError("language model task: no training split")
        self.level, self.loss_sum_over_time = level, loss_sum_over_time
        self.splits = splits
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.tbptt = TruncatedBPTT(bptt, bptt_back)
        self.stream = batchify(splits["train"], batch_size)  # (L, B)
        self.windows = self.tbptt.windows(self.stream.shape[0] - 1)  # inputs [0, L-1), targets [1, L)

    def shard(self, rank: int, world_size: int) -> None:
        """Distributed training: this process reads its own contiguous stretch of the corpus as its
        `batch_size` streams (columns [rank·B, (rank+1)·B) of the global W·B; see `shard_streams`)."""
        self.stream = shard_streams(self.splits["train"], self.batch_size, rank, world_size)
        self.windows = self.tbptt.windows(self.stream.shape[0] - 1)

    def num_batches(self) -> int:
        return len(self.windows)

    def tokens_per_epoch(self) -> int:
        return (self.stream.shape[0] - 1) * self.batch_size

    def train_step(self, model, epoch: int, index: int, carry) -> StepOutput:
        device = model_device(model)
        if self.stream.device != device:
            self.stream = self.stream.to(device)
        stream, window = self.stream, self.windows[index]

        def run(a: int, b: int, state):
            logits, state = model(stream[a:b], state)
            targets = stream[a + 1:b + 1]
            losses = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="none")
            return losses.view(targets.shape), state

        loss, carry = self.tbptt.step(window, run, carry)
        steps = window.end - window.loss_start
        return StepOutput(loss, steps * self.batch_size, carry, float(steps) if self.loss_sum_over_time else 1.0)

    def evaluate(self, model, split: str) -> dict[str, float]:
        if split not in self.splits:
            raise DataError(f"no {split!r} split to evaluate on (have: {', '.join(self.splits)})")
        return evaluate_stream(model, self.splits[split], self.eval_batch_size, self.level)


@torch.no_grad()
def evaluate_stream(model, ids: Tensor, batch_size: int, level: str) -> dict[str, float]:
    """Mean next-token loss over `ids` laid out as `batch_size` streams, state carried throughout."""
    stream = batchify(ids, batch_size).to(model_device(model))
    was_training = model.training
    model.eval()
    total, count, state = 0.0, 0, None
    try:
        for a in range(0, stream.shape[0] - 1, EVAL_CHUNK):
            b = min(a + EVAL_CHUNK, stream.shape[0] - 1)
            logits, state = model(stream[a:b], state)
            state = detach(state)
            total += float(F.cross_entropy(logits.flatten(0, 1), stream[a + 1:b + 1].flatten(), reduction="sum"))
            count += (b - a) * stream.shape[1]
    finally:
        model.train(was_training)
    loss = total / count
    out = {"loss": loss, "ppl": math.exp(min(loss, 700.0)), "tokens": count}
    if level == "char":
        out["bpc"] = loss / math.log(2)
    return out
