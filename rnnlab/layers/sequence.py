"""What the sequence layers and models check about their inputs, and the index tricks they share.

`check_tokens` and `check_lengths` are the one place where token-id tensors (T, B) and lengths (B,)
are validated; every model and layer calls them, so a bad batch gets the same message everywhere
(a `DataError`, which is a ValueError). `OneHot` is the 1-of-N token input a model uses instead of
an embedding matrix.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnlab.errors import DataError

TOKEN_DTYPES = (torch.int64, torch.int32)  # what nn.Embedding and F.one_hot take


def check_sequence(x: Tensor, input_size: int, where: str) -> None:
    """x must be a floating (T, B, input_size) tensor with T, B ≥ 1."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{where}: input must be a tensor, got {type(x).__name__}")
    if x.dim() != 3:
        raise ValueError(f"{where}: input must be 3-D (time, batch, features), got shape {tuple(x.shape)}")
    if x.shape[-1] != input_size:
        raise ValueError(f"{where}: expected {input_size} input features, got {x.shape[-1]} (input shape {tuple(x.shape)})")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{where}: empty sequence or batch (input shape {tuple(x.shape)})")
    if not x.is_floating_point():
        raise TypeError(f"{where}: input must be floating point, got {x.dtype}")


def check_lengths(lengths: Tensor | Sequence[int], T: int, B: int, device, where: str) -> Tensor:
    """Lengths as a long tensor on `device`: 1-D with B integer (not bool) entries, each in [1, T].
    DataError naming the problem otherwise (torch's own messages for a ragged list or a string do
    not say which argument was wrong)."""
    if isinstance(lengths, (str, bytes)):
        raise DataError(f"{where}: lengths must be a tensor or a list of integers, got {type(lengths).__name__}")
    try:
        lengths = torch.as_tensor(lengths)
    except (TypeError, ValueError, RuntimeError) as e:
        raise DataError(f"{where}: lengths must be a tensor or a list of integers, one per sequence ({B}), "
                        f"got {lengths!r:.60} ({e})") from None
    if lengths.dim() != 1 or lengths.shape[0] != B:
        raise DataError(f"{where}: lengths must be 1-D with one entry per sequence ({B}), got shape {tuple(lengths.shape)}")
    if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
        raise DataError(f"{where}: lengths must be integers, got {lengths.dtype}")
    if (lengths < 1).any():
        raise DataError(f"{where}: every length must be in [1, {T}]: every length must be >= 1, "
                        f"got min {int(lengths.min())}")
    if (lengths > T).any():
        raise DataError(f"{where}: every length must be in [1, {T}]: a length ({int(lengths.max())}) exceeds the "
                        f"sequence's time dimension ({T})")
    return lengths.to(device=device, dtype=torch.long)


def lengths_or_full(lengths: Tensor | Sequence[int] | None, T: int, B: int, device, where: str) -> Tensor:
    """`check_lengths`, with None meaning every sequence is T steps long."""
    if lengths is None:
        return torch.full((B,), T, dtype=torch.long, device=device)
    return check_lengths(lengths, T, B, device, where)


def check_tokens(tokens: Tensor, vocab_size: int, where: str, lengths: Tensor | Sequence[int] | None = None) -> Tensor:
    """tokens must be a non-empty (T, B) integer tensor of ids in [0, vocab_size); with `lengths`
    (checked by `check_lengths`) only the real steps t < lengths[b] are range-checked, so padding
    may hold any id. → the lengths as a long tensor (B,), all T when None. DataError otherwise."""
    if not isinstance(tokens, Tensor):
        raise DataError(f"{where}: tokens must be a tensor of integer ids, got {type(tokens).__name__}")
    if tokens.dtype not in TOKEN_DTYPES:
        raise DataError(f"{where}: tokens must be integer ids (int64), got dtype {tokens.dtype}")
    if tokens.dim() != 2 or tokens.shape[0] == 0 or tokens.shape[1] == 0:
        raise DataError(f"{where}: tokens must be (T, B) = (time, batch) with both >= 1, got shape {tuple(tokens.shape)}")
    T, B = tokens.shape
    checked = lengths_or_full(lengths, T, B, tokens.device, where)
    real = tokens if lengths is None else tokens[length_mask(checked, T)]
    lo, hi = int(real.min()), int(real.max())
    if lo < 0 or hi >= vocab_size:
        raise DataError(f"{where}: token id out of range [0, {vocab_size}): min {lo}, max {hi}")
    return checked


def length_mask(lengths: Tensor, T: int) -> Tensor:
    """(T, B) bool: True where step t lies inside sequence b."""
    return torch.arange(T, device=lengths.device).unsqueeze(1) < lengths.unsqueeze(0)


def reverse_padded(x: Tensor, lengths: Tensor | None) -> Tensor:
    """Reverse each sequence within its own length, leaving padding where it is.

    x: (T, B, ·). For length L, step t < L goes to L-1-t. The map is its own inverse.
    """
    if lengths is None:
        return x.flip(0)
    T = x.shape[0]
    t = torch.arange(T, device=x.device).unsqueeze(1)  # (T, 1)
    index = torch.where(t < lengths, lengths - 1 - t, t)  # (T, B)
    return x.gather(0, index.unsqueeze(-1).expand_as(x))


class OneHot(nn.Module):
    """1-of-N token input, the parameter-free stand-in for `nn.Embedding`: ids (...) → (..., N).

    `num_embeddings` = `embedding_dim` = N, as an embedding of that width would say. The vectors
    take the dtype and device of the module (`.to()` / `.double()` move it like any other)."""

    def __init__(self, num_embeddings: int):
        super().__init__()
        if num_embeddings < 1:
            raise ValueError(f"OneHot: num_embeddings must be >= 1, got {num_embeddings}")
        self.num_embeddings = self.embedding_dim = num_embeddings
        # carries dtype and device only; not saved, so a one-hot model's state_dict has no input entry
        self.register_buffer("_like", torch.zeros(0), persistent=False)

    def forward(self, ids: Tensor) -> Tensor:
        return F.one_hot(ids.long(), self.num_embeddings).to(self._like)

    def extra_repr(self) -> str:
        return str(self.num_embeddings)


def zero_padding(x: Tensor, lengths: Tensor | Sequence[int], batch_first: bool, where: str) -> Tensor:
    """x with every padded step (t ≥ lengths[b]) set to exactly 0 by selection — whatever the
    padding held (NaN included). x: (T, B, ·), or (B, T, ·) with batch_first."""
    T, B = (x.shape[1], x.shape[0]) if batch_first else x.shape[:2]
    mask = length_mask(check_lengths(lengths, T, B, x.device, where), T)  # (T, B)
    if batch_first:
        mask = mask.transpose(0, 1)
    return torch.where(mask.unsqueeze(-1), x, torch.zeros((), dtype=x.dtype, device=x.device))
