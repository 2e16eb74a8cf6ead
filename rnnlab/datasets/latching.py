"""The latching problem (Bengio, Simard & Frasconi 1994; Lin, Horne, Tiňo & Giles 1996): the class
is decided by the first few inputs and must be held through T steps of noise.

    x, labels = latching_data(n=256, T=20, seed=0)     # x (prefix + T, n, 1), labels (n,) in {0, 1}

The first `prefix` inputs are each ±1 at random and the class is their majority (1 when the sum is
positive, so `prefix` must be odd); the next T inputs are uniform noise in [-noise, noise]. The
answer is asked for at the last step only, so a network must latch the class for T steps, and the
gradient that teaches it to do so must cross T steps.
"""
from __future__ import annotations

import torch
from torch import Tensor

from rnnlab.errors import ConfigError


def latching_data(n: int, T: int, *, prefix: int = 3, noise: float = 0.2, seed: int = 0) -> tuple[Tensor, Tensor]:
    if n < 1 or T < 0 or prefix < 1 or prefix % 2 == 0:
        raise ConfigError(f"latching data: need n >= 1, T >= 0 and an odd prefix, got {n}, {T}, {prefix}")
    if not 0 <= noise:
        raise ConfigError(f"latching data: noise must be >= 0, got {noise}")
    g = torch.Generator().manual_seed(seed)
    bits = torch.randint(0, 2, (prefix, n), generator=g).float() * 2 - 1  # ±1
    labels = (bits.sum(0) > 0).long()
    tail = (torch.rand(T, n, generator=g) * 2 - 1) * noise
    return torch.cat([bits, tail]).unsqueeze(-1), labels
