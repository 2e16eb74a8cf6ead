"""Small pieces the example-based tasks (tagging, classification, seq2seq) share: the per-epoch
shuffle behind their batches, and the device / eval-mode / length-batching of evaluation."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch


class EpochShuffle:
    """The order of `n` training examples in each epoch, drawn from (seed, epoch) alone — so update
    `index` of `epoch` is the same batch after a resume, with no RNG state to save."""

    def __init__(self, n: int, seed: int):
        self.n, self.seed = n, seed
        self._cached: tuple[int, np.ndarray] | None = None

    def __call__(self, epoch: int) -> np.ndarray:
        if self._cached is None or self._cached[0] != epoch:
            self._cached = (epoch, np.random.default_rng([self.seed, epoch]).permutation(self.n))
        return self._cached[1]

    def batch(self, epoch: int, index: int, batch_size: int) -> np.ndarray:
        """Example indices of update `index` (0-based) of `epoch`."""
        return self(epoch)[index * batch_size:(index + 1) * batch_size]


def model_device(model) -> torch.device:
    """Where the model's parameters live (CPU for a model without parameters)."""
    p = next(model.parameters(), None)
    return torch.device("cpu") if p is None else p.device


class eval_mode:
    """model.eval() inside, the previous mode restored after (the caller may be mid-training)."""

    def __init__(self, model):
        self.model, self.was_training = model, model.training

    def __enter__(self):
        self.model.eval()

    def __exit__(self, *exc):
        self.model.train(self.was_training)


def length_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Row indices in batches of similar length (less padding); callers put results back in order."""
    by_length = sorted(range(len(lengths)), key=lengths.__getitem__)
    return [by_length[a:a + batch_size] for a in range(0, len(by_length), batch_size)]
