"""The nonlinear plant of Narendra & Parthasarathy (1990, example 2), for system identification:

    y_{t} = y_{t-1} y_{t-2} (y_{t-1} + 2.5) / (1 + y_{t-1}² + y_{t-2}²) + u_{t-1}            (1)

    signals = plant_signals(steps=2000, kind="random", noise=0.05, seed=0)
    signals.x      (steps, 1)  the model's input at t: u_{t-1} (already shifted, so step t reads it)
    signals.y      (steps, 1)  measured output y_t + e_t, e_t ~ N(0, noise²) (what models train on)
    signals.clean  (steps, 1)  the noise-free y_t (what held-out errors are scored against)

Inputs: "random" — i.i.d. uniform in [-2, 2], each held for 1–5 steps (richer in low frequencies
than white noise); "sine" — Narendra's test input u_t = sin(2πt/25); "mixed" — 0.8 sin(2πt/25) +
0.2 sin(2πt/10) (another held-out shape). The plant starts at rest (y = 0).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

from rnnlab.errors import ConfigError

INPUT_KINDS = ("random", "sine", "mixed")


class Signals(NamedTuple):
    x: Tensor
    y: Tensor
    clean: Tensor


def plant_step(y1: float, y2: float, u1: float) -> float:
    return y1 * y2 * (y1 + 2.5) / (1 + y1 * y1 + y2 * y2) + u1  # (1)


def plant_inputs(steps: int, kind: str, g: torch.Generator) -> Tensor:
    t = torch.arange(steps, dtype=torch.float64)
    if kind == "random":
        u = torch.empty(steps, dtype=torch.float64)
        i = 0
        while i < steps:
            hold = int(torch.randint(1, 6, (1,), generator=g))
            u[i:i + hold] = float(torch.rand(1, generator=g, dtype=torch.float64)) * 4 - 2
            i += hold
        return u
    if kind == "sine":
        return torch.sin(2 * math.pi * t / 25)
    if kind == "mixed":
        return 0.8 * torch.sin(2 * math.pi * t / 25) + 0.2 * torch.sin(2 * math.pi * t / 10)
    raise ConfigError(f"plant input must be one of {', '.join(INPUT_KINDS)}, got {kind!r}")


def plant_signals(steps: int, kind: str = "random", *, noise: float = 0.05, seed: int = 0) -> Signals:
    if steps < 3:
        raise ConfigError(f"plant signals: need at least 3 steps, got {steps}")
    if noise < 0:
        raise ConfigError(f"plant signals: noise must be >= 0, got {noise}")
    g = torch.Generator().manual_seed(seed)
    u = plant_inputs(steps, kind, g)
    y = [0.0, 0.0]
    for t in range(2, steps):
        y.append(plant_step(y[t - 1], y[t - 2], float(u[t - 1])))
    clean = torch.tensor(y, dtype=torch.float64)
    x = torch.cat([torch.zeros(1, dtype=torch.float64), u[:-1]])  # x_t = u_{t-1}
    measured = clean + noise * torch.randn(steps, generator=g, dtype=torch.float64)
    return Signals(x.float().unsqueeze(1), measured.float().unsqueeze(1), clean.float().unsqueeze(1))


def plant_response(x: Tensor) -> Tensor:
    """The noise-free output (T, 1) of the plant at rest driven by model inputs x (T,) or (T, 1),
    x_t = u_{t-1}, by (1) — what `plant_signals` scores against, for any input (the explorer's
    typed signals)."""
    u = x.reshape(-1).double().tolist()
    y = [0.0, 0.0][:len(u)]
    for t in range(2, len(u)):
        y.append(plant_step(y[t - 1], y[t - 2], u[t]))  # u_{t-1} = x_t
    return torch.tensor(y, dtype=torch.float32).view(-1, 1)
