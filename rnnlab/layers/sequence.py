"""Checks and index tricks shared by the sequence layers: lengths → mask, in-place reversal."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor


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
    """Lengths as a long tensor on `device`; each must be in [1, T] and there must be B of them."""
    lengths = torch.as_tensor(lengths)
    if lengths.dim() != 1 or lengths.shape[0] != B:
        raise ValueError(f"{where}: lengths must be 1-D with one entry per sequence ({B}), got shape {tuple(lengths.shape)}")
    if lengths.is_floating_point() or lengths.is_complex():
        raise TypeError(f"{where}: lengths must be integers, got {lengths.dtype}")
    if (lengths < 1).any():
        raise ValueError(f"{where}: every length must be >= 1, got min {int(lengths.min())}")
    if (lengths > T).any():
        raise ValueError(f"{where}: a length ({int(lengths.max())}) exceeds the sequence's time dimension ({T})")
    return lengths.to(device=device, dtype=torch.long)


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
