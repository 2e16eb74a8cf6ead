"""Optimisers by name, and gradient clipping.

Weight decay is the L2 penalty λ/2‖θ‖² added to the loss (its gradient λθ is added to each
parameter's gradient), as in torch's SGD and Adam; "adamw" decouples it (Loshchilov & Hutter).
"""
from __future__ import annotations

import math
from typing import Iterable

import torch
from torch import nn

from rnnlab.errors import ConfigError

OPTIMIZERS = ("sgd", "adam", "adamw")


def make_optimizer(params: Iterable[nn.Parameter], name: str, lr: float, *, momentum: float = 0.0,
                   weight_decay: float = 0.0) -> torch.optim.Optimizer:
    if name not in OPTIMIZERS:
        raise ConfigError(f"unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}")
    if not lr > 0:
        raise ConfigError(f"learning rate must be positive, got {lr}")
    if weight_decay < 0:
        raise ConfigError(f"weight decay must be >= 0, got {weight_decay}")
    params = list(params)
    if name == "sgd":
        if not 0 <= momentum < 1:
            raise ConfigError(f"momentum must be in [0, 1), got {momentum}")
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if momentum:
        raise ConfigError(f"momentum applies to sgd only (optimizer is {name}; Adam's betas set its averaging)")
    cls = torch.optim.Adam if name == "adam" else torch.optim.AdamW
    return cls(params, lr=lr, weight_decay=weight_decay)


def clip_gradients(params: Iterable[nn.Parameter], max_norm: float | None = None,
                   max_value: float | None = None) -> float:
    """Clip in place (by value first, then by global norm); returns the global norm before clipping.

    Norm clipping (Pascanu et al. 2013) rescales all gradients together, g ← g · min(1, c/‖g‖),
    keeping the update's direction; value clipping bounds each component to [−v, v].
    The returned norm is what to log: it shows explosions even when clipping hides them.
    """
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return 0.0
    norm = float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads])))
    if max_value is not None:
        for g in grads:
            g.clamp_(-max_value, max_value)
    if max_norm is not None:
        now = norm if max_value is None else float(
            torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads])))
        if math.isfinite(now) and now > max_norm:
            for g in grads:
                g.mul_(max_norm / (now + 1e-12))
    return norm
