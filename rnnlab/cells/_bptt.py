"""Pieces shared by the hand-derived BPTT Functions (elman_bptt, lstm_bptt, gru_bptt)."""
from __future__ import annotations

import torch
from torch import Tensor

aten = torch.ops.aten

# (∂L/∂y, y) ↦ ∂L/∂v = ∂L/∂y ⊙ f'(v) written into `out`, with f' expressed through the output
# y = f(v) exactly as in activations.DERIVATIVES (tanh' = 1 - y², σ' = y(1 - y), relu' = [y > 0]),
# each as one fused kernel so the backward loop allocates nothing
BACKWARD = {
    "tanh": lambda dy, y, out: aten.tanh_backward.grad_input(dy, y, grad_input=out),
    "sigmoid": lambda dy, y, out: aten.sigmoid_backward.grad_input(dy, y, grad_input=out),
    "relu": lambda dy, y, out: aten.threshold_backward.grad_input(dy, y, 0, grad_input=out),
    "identity": lambda dy, y, out: out.copy_(dy),
}


def normalize(v: Tensor, eps: float) -> tuple[Tensor, Tensor]:
    """v̂ = (v - μ) ⊙ rstd over the last dim, rstd = 1 / √(var + ε); (v̂, rstd) is what the backward needs."""
    vhat, _, rstd = torch.native_layer_norm(v, v.shape[-1:], None, None, eps)
    return vhat, rstd


def normalize_backward(dvhat: Tensor, vhat: Tensor, rstd: Tensor, scratch: Tensor) -> Tensor:
    """For v̂ = normalize(v): ∂L/∂v = rstd ⊙ (∂L/∂v̂ - mean(∂L/∂v̂) - v̂ ⊙ mean(∂L/∂v̂ ⊙ v̂)),
    written into dvhat (scratch: a buffer of its shape)."""
    sum_d = dvhat.sum(-1, keepdim=True)
    sum_dv = torch.mul(dvhat, vhat, out=scratch).sum(-1, keepdim=True)
    torch.addcmul(sum_d, vhat, sum_dv, out=scratch)  # Σ ∂L/∂v̂ + v̂ ⊙ Σ (∂L/∂v̂ ⊙ v̂)
    return dvhat.sub_(scratch, alpha=1 / dvhat.shape[-1]).mul_(rstd)
