"""Squashing functions selectable by name, with the derivative the hand-written BPTT needs.

Each derivative is written in terms of the function's *output* y (that is what the forward pass
keeps), e.g. tanh' = 1 - y², σ' = y(1 - y).
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "relu": torch.relu,
    "identity": lambda v: v,
}

# d f(v) / dv expressed through y = f(v)
DERIVATIVES: dict[str, Callable[[Tensor], Tensor]] = {
    "tanh": lambda y: 1 - y * y,
    "sigmoid": lambda y: y * (1 - y),
    "relu": lambda y: (y > 0).to(y.dtype),
    "identity": lambda y: torch.ones_like(y),
}


def check_activation(name: str, what: str = "activation") -> str:
    """Return `name` if it is known, else raise a ValueError listing the choices."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown {what} {name!r}; choose one of {sorted(ACTIVATIONS)}")
    return name
