"""Synthetic tasks that need memory over time (Hochreiter & Schmidhuber 1997; Le et al. 2015).

Each generator returns time-major tensors `(inputs, targets)` and takes a `torch.Generator` so a
seed reproduces the data exactly.
"""
from __future__ import annotations

import torch
from torch import Tensor


def adding_problem(batch: int, length: int, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """The adding problem: input (T, B, 2) = a random value in [0, 1) and a marker that is 1 at
    exactly two steps, one in each half; target (B, 1) = the sum of the two marked values.

    Predicting the mean (1.0) gives MSE 1/6 ≈ 0.167: a model must remember the marked values
    across the sequence to do better.
    """
    if length < 2:
        raise ValueError(f"adding_problem: length must be >= 2, got {length}")
    values = torch.rand(length, batch, generator=generator)
    half = length // 2
    first = torch.randint(0, half, (batch,), generator=generator)
    second = torch.randint(half, length, (batch,), generator=generator)
    marker = torch.zeros(length, batch)
    cols = torch.arange(batch)
    marker[first, cols] = 1.0
    marker[second, cols] = 1.0
    target = (values * marker).sum(0, keepdim=True).T
    return torch.stack([values, marker], dim=-1), target


def copy_task(
    batch: int, length: int, delay: int, symbols: int = 8, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """The copy task: see `length` random symbols, wait `delay` blank steps, then a go marker,
    and reproduce the symbols. Inputs are one-hot over symbols + blank + go, shape
    (length + delay + 1 + length, B, symbols + 2); targets are class indices (T, B) with
    `symbols` (= blank) wherever nothing is to be output yet.
    """
    if length < 1 or delay < 0:
        raise ValueError(f"copy_task: need length >= 1 and delay >= 0, got {length}, {delay}")
    blank, go = symbols, symbols + 1
    seq = torch.randint(0, symbols, (length, batch), generator=generator)
    total = 2 * length + delay + 1
    inputs = torch.full((total, batch), blank)
    inputs[:length] = seq
    inputs[length + delay] = go
    targets = torch.full((total, batch), blank)
    targets[length + delay + 1 :] = seq
    return torch.nn.functional.one_hot(inputs, symbols + 2).float(), targets
