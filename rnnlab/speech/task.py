"""Utterance classification as a trainer task: each example is a (T, F) tensor of feature frames
and a class id. Batches are padded to their longest utterance and carry the lengths; the order of
epoch e is drawn from (seed, e) alone, so update `index` of `epoch` is the same batch after a
resume. The loss is the mean cross-entropy; evaluation gives loss, accuracy, error and the
confusion matrix (`confusion`). An optional `FrameAugment` (augment.py) changes the training
batches only, never evaluation."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor
from torch.nn import functional as F

import numpy as np

from rnnlab.errors import ConfigError, DataError
from rnnlab.speech.augment import FrameAugment
from rnnlab.train.inference import eval_mode, length_batches, model_device
from rnnlab.train.shuffle import EpochShuffle
from rnnlab.train.trainer import StepOutput


def pad_frames(frames: Sequence[Tensor], device=None) -> tuple[Tensor, Tensor]:
    """(T, B, F) zero-padded frames and lengths (B,)."""
    lengths = torch.tensor([len(f) for f in frames])
    out = torch.zeros(int(lengths.max()), len(frames), frames[0].shape[1], dtype=frames[0].dtype)
    for b, f in enumerate(frames):
        out[: len(f), b] = f
    return out.to(device), lengths.to(device)


class UtteranceTask:
    """splits: {name: [(frames (T, F), class id)]}; labels: the class names (ids index them)."""

    metric = "error"

    def __init__(self, splits: dict[str, list[tuple[Tensor, int]]], labels: Sequence[str], *, batch_size: int = 32,
                 eval_batch_size: int = 128, seed: int = 0, augment: FrameAugment | None = None):
        if batch_size < 1 or eval_batch_size < 1:
            raise ConfigError(f"batch sizes must be >= 1, got {batch_size} and {eval_batch_size}")
        if not splits.get("train"):
            raise DataError(f"utterance task: no training examples (splits: {', '.join(splits) or 'none'})")
        for name, examples in splits.items():
            bad = [y for _, y in examples if not 0 <= y < len(labels)]
            if bad:
                raise DataError(f"utterance task, split {name!r}: class id {bad[0]} outside [0, {len(labels)})")
            if any(f.dim() != 2 or len(f) == 0 for f, _ in examples):
                raise DataError(f"utterance task, split {name!r}: every example must be non-empty (T, F) frames")
        self.splits, self.labels = splits, list(labels)
        self.batch_size, self.eval_batch_size, self.seed = batch_size, eval_batch_size, seed
        self.shuffle = EpochShuffle(len(splits["train"]), seed)
        self.augment = augment if augment is not None and augment.active else None

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    def num_batches(self) -> int:
        return -(-len(self.splits["train"]) // self.batch_size)

    def train_step(self, model, epoch: int, index: int, carry) -> StepOutput:
        rows = self.shuffle.batch(epoch, index, self.batch_size).tolist()
        examples = [self.splits["train"][i] for i in rows]
        inputs = [f for f, _ in examples]
        if self.augment is not None:
            # drawn from (seed, epoch, update, process) alone: a resumed run sees the same batches
            rng = np.random.default_rng([self.seed, epoch, index, self.shuffle.rank])
            inputs = [self.augment(f, rng) for f in inputs]
        frames, lengths = pad_frames(inputs, model_device(model))
        labels = torch.tensor([y for _, y in examples], device=frames.device)
        return StepOutput(F.cross_entropy(model(frames, lengths), labels), len(rows))

    @torch.no_grad()
    def evaluate(self, model, split: str) -> dict:
        """{"loss", "accuracy", "error"} over the split."""
        metrics, _ = self.evaluate_with_confusion(model, split)
        return metrics

    @torch.no_grad()
    def evaluate_with_confusion(self, model, split: str) -> tuple[dict, Tensor]:
        """The metrics and the confusion matrix (true class × predicted class counts)."""
        if split not in self.splits or not self.splits[split]:
            raise DataError(f"no {split!r} examples to evaluate on (have: {', '.join(self.splits)})")
        examples = self.splits[split]
        confusion = torch.zeros(self.num_classes, self.num_classes, dtype=torch.long)
        nll = 0.0
        with eval_mode(model):
            for rows in length_batches([len(f) for f, _ in examples], self.eval_batch_size):
                frames, lengths = pad_frames([examples[i][0] for i in rows], model_device(model))
                labels = torch.tensor([examples[i][1] for i in rows], device=frames.device)
                logits = model(frames, lengths)
                nll += float(F.cross_entropy(logits, labels, reduction="sum"))
                for y, p in zip(labels.tolist(), logits.argmax(-1).tolist()):
                    confusion[y, p] += 1
        accuracy = float(confusion.diag().sum()) / len(examples)
        return {"loss": nll / len(examples), "accuracy": accuracy, "error": 1.0 - accuracy}, confusion
