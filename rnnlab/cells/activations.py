"""Squashing functions selectable by name: the one table the cells and the hand-derived kernels share.

Each entry holds, for one f:
    f(v)                          what the cells call (`ACTIVATIONS[name](v)`)
    into(v, out)                  f(v) written into `out` (which may be v): the kernels' loops allocate nothing
    derivative(y)                 f'(v) written through the output y = f(v) (what the forward keeps):
                                  tanh' = 1 - y², σ' = y(1 - y), relu' = [y > 0], identity' = 1
    backward(dy, y, out)          ∂L/∂v = ∂L/∂y ⊙ f'(v) written into `out`, one fused kernel
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

aten = torch.ops.aten


@dataclass(frozen=True)
class Activation:
    """One squashing function f with what the hand-derived BPTT needs of it (see the module docstring).

    Calling it applies f: `ACTIVATIONS["tanh"](v)`; all four functions are element-wise on any shape.
    """

    forward: Callable[[Tensor], Tensor]
    into: Callable[[Tensor, Tensor], Tensor]
    derivative: Callable[[Tensor], Tensor]
    backward: Callable[[Tensor, Tensor, Tensor], Tensor]

    def __call__(self, v: Tensor) -> Tensor:
        return self.forward(v)


ACTIVATIONS: dict[str, Activation] = {
    "tanh": Activation(
        torch.tanh,
        lambda v, out: torch.tanh(v, out=out),
        lambda y: 1 - y * y,
        lambda dy, y, out: aten.tanh_backward.grad_input(dy, y, grad_input=out),
    ),
    "sigmoid": Activation(
        torch.sigmoid,
        lambda v, out: torch.sigmoid(v, out=out),
        lambda y: y * (1 - y),
        lambda dy, y, out: aten.sigmoid_backward.grad_input(dy, y, grad_input=out),
    ),
    "relu": Activation(
        torch.relu,
        lambda v, out: torch.clamp_min(v, 0, out=out),
        lambda y: (y > 0).to(y.dtype),
        lambda dy, y, out: aten.threshold_backward.grad_input(dy, y, 0, grad_input=out),
    ),
    "identity": Activation(
        lambda v: v,
        lambda v, out: out if out is v else out.copy_(v),  # in place: nothing to do
        lambda y: torch.ones_like(y),
        lambda dy, y, out: out if out is dy else out.copy_(dy),
    ),
}


def check_activation(name: str, what: str = "activation") -> str:
    """Return `name` if it is known, else raise a ValueError listing the choices."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown {what} {name!r}; choose one of {sorted(ACTIVATIONS)}")
    return name
