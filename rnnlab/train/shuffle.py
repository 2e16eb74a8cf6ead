"""The per-epoch shuffle behind the example-based tasks' batches (tagging, classification, seq2seq),
and its distributed sampling: with W processes, update `index` is one global batch of W·B
examples drawn from the epoch's order, of which each process reads its own contiguous part."""
from __future__ import annotations

import numpy as np

from rnnlab.errors import ConfigError


class EpochShuffle:
    """The order of `n` training examples in each epoch, drawn from (seed, epoch) alone — so update
    `index` of `epoch` is the same batch after a resume, with no RNG state to save."""

    def __init__(self, n: int, seed: int):
        self.n, self.seed = n, seed
        self.rank, self.world_size = 0, 1
        self._cached: tuple[int, np.ndarray] | None = None

    def shard(self, rank: int, world_size: int) -> None:
        """Read as process `rank` of `world_size`: `batch` returns this process's part of each
        global batch (the order is still reseeded by (seed, epoch), identically on every process)."""
        if not 0 <= rank < world_size:
            raise ConfigError(f"rank must be in [0, {world_size}), got {rank}")
        if self.n < world_size:
            raise ConfigError(f"{self.n} training examples cannot be shared by {world_size} processes")
        self.rank, self.world_size = rank, world_size

    def num_batches(self, batch_size: int) -> int:
        """Updates per epoch: global batches of batch_size · world_size examples; a last batch too
        small to give every process an example is left out (with one process: none is)."""
        full, rest = divmod(self.n, batch_size * self.world_size)
        return full + (rest >= self.world_size)

    def __call__(self, epoch: int) -> np.ndarray:
        if self._cached is None or self._cached[0] != epoch:
            self._cached = (epoch, np.random.default_rng([self.seed, epoch]).permutation(self.n))
        return self._cached[1]

    def batch(self, epoch: int, index: int, batch_size: int) -> np.ndarray:
        """Example indices of update `index` (0-based) of `epoch`: this process's part of the
        global batch (all of it for one process; a short last batch is split as evenly as it goes)."""
        size = batch_size * self.world_size
        rows = self(epoch)[index * size:(index + 1) * size]
        return rows if self.world_size == 1 else np.array_split(rows, self.world_size)[self.rank]
