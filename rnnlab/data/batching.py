"""Laying a token stream out for truncated backpropagation through time.

`batchify` follows Zaremba et al. (2014): the corpus is cut into `batch_size` contiguous
stretches, one per column. Consecutive windows of rows then continue each column's text, so the
state carried from one window into the next belongs to the text that follows.
"""
from __future__ import annotations

import torch
from torch import Tensor

from rnnlab.errors import ConfigError, DataError


def batchify(ids: Tensor, batch_size: int) -> Tensor:
    """(N,) token ids -> (L, B) with L = N // B; the last N - L * B tokens are dropped.

    Column b is `ids[b * L : (b + 1) * L]`, so reading down a column reads the corpus.
    """
    if not isinstance(ids, Tensor) or ids.dim() != 1 or ids.dtype.is_floating_point \
            or ids.dtype.is_complex or ids.dtype == torch.bool:
        got = f"shape {tuple(ids.shape)} dtype {ids.dtype}" if isinstance(ids, Tensor) else type(ids).__name__
        raise DataError(f"batchify expects a 1-D integer tensor of token ids, got {got}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
    n = ids.numel()
    length = n // batch_size
    if length < 2:  # each column needs an input and the token after it
        raise DataError(f"corpus too short for batch_size {batch_size}: it has {n} tokens and needs at "
                        f"least {2 * batch_size} (2 per column); use a smaller batch size or more text")
    return ids[: length * batch_size].reshape(batch_size, length).t().contiguous()  # (L, B)


def shard_streams(ids: Tensor, batch_size: int, rank: int, world_size: int) -> Tensor:
    """Process `rank`'s (L, batch_size) streams when `world_size` processes read `ids` together.

    Each process gets a contiguous stretch of the corpus and lays it out as its own `batch_size`
    columns: together they are exactly the columns of `batchify(ids, batch_size * world_size)`,
    rank r holding columns [r·B, (r+1)·B). Every column is still unbroken text, so the state
    truncated BPTT carries from one window into the next belongs to the text that follows, and
    W processes × B streams train exactly as one process × W·B streams."""
    if not 0 <= rank < world_size:
        raise ConfigError(f"rank must be in [0, {world_size}), got {rank}")
    columns = batchify(ids, batch_size * world_size)  # checks ids and that each column has 2 tokens
    length = columns.shape[0]
    return batchify(ids[rank * batch_size * length:(rank + 1) * batch_size * length], batch_size)
