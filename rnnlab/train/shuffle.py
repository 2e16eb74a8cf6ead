"""The per-epoch shuffle behind the example-based tasks' batches (tagging, classification, seq2seq)."""
from __future__ import annotations

import numpy as np


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
