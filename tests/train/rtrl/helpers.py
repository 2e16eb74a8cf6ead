"""Shared by the RTRL tests: BPTT's gradients and RTRL's for the same encoder, data and loss."""
from __future__ import annotations

import torch

from rnnlab.layers.encoder import build_encoder
from rnnlab.layers.sequence import length_mask
from rnnlab.train.rtrl import RTRL

T, B, D, H = 4, 2, 3, 3
LENGTHS = torch.tensor([4, 2])


def problem(cell: str, layers: int, seed: int = 0, hidden: int = H):
    """A float64 encoder, input (T, B, D), a random nonzero initial state and loss weights."""
    torch.manual_seed(seed)
    enc = build_encoder(cell, D, hidden, layers).double()
    x = torch.randn(T, B, D, dtype=torch.float64)
    W = torch.randn(T, B, hidden, dtype=torch.float64)

    def rand(s):
        if isinstance(s, tuple):
            return tuple(rand(q) for q in s)
        return torch.randn_like(s) if s.is_floating_point() else s
    return enc, x, rand(enc.init_state(B)), W


def loss_grad(y, W):
    """L = Σ_t Σ_b (W_t · y_t + ½ ‖y_t‖²): ∂L/∂y_t = W_t + y_t (depends on y, so c_t changes with θ)."""
    return W + y


def bptt_grads(enc, x, s0, W, lengths):
    y, _ = enc(x, s0, lengths)
    loss = (y * W).sum() + 0.5 * (y ** 2).sum()
    return y, torch.autograd.grad(loss, list(enc.parameters()))


def rtrl_grads(enc, x, s0, W, lengths, method="rtrl", **kw):
    eng = RTRL(enc, method, **kw)
    eng.reset(x.shape[1], s0)
    mask = None if lengths is None else length_mask(lengths, x.shape[0])
    ys = []
    for t in range(x.shape[0]):
        y = eng.step(x[t], None if mask is None else mask[t])
        eng.backward(loss_grad(y, W[t]))
        ys.append(y)
    return torch.stack(ys), [eng.grads[p] for p in enc.parameters()], eng


def max_rel(a, b) -> float:
    """max over parameters of max|a − b| / max|b| (a parameter's largest error against its scale)."""
    return max(float((p - q).abs().max() / q.abs().max().clamp_min(1e-300)) for p, q in zip(a, b))
