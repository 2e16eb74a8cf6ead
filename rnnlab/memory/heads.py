"""The NTM's heads: one linear map from the controller's output to every head's parameters, each
squashed into its valid range (Graves et al. 2014, section 3.3):

    key k ∈ [−1, 1]^M (tanh)      strength β ≥ 0 (softplus)     gate g ∈ [0, 1] (sigmoid)
    shift s: softmax over 2k + 1 offsets                         sharpening γ ≥ 1 (1 + softplus)
    write heads also: erase e ∈ [0, 1]^M (sigmoid), add a ∈ [−1, 1]^M (tanh)

The pre-activations are clipped to ±`clip` first (Collier & Beel 2018: unbounded controller
outputs are what makes NTM training produce NaN): softplus(β) then stays below 20, so β · K and
γ · log w never overflow, and a controller whose outputs run away saturates instead of failing.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnlab.cells.base import check_size


class HeadParams(NamedTuple):
    """Every head's parameters for one step; each (B, heads, ·); erase and add are None for read heads."""
    key: Tensor       # (B, H, M)
    strength: Tensor  # (B, H)
    gate: Tensor      # (B, H)
    shift: Tensor     # (B, H, 2k + 1)
    gamma: Tensor     # (B, H)
    erase: Tensor | None = None  # (B, H, M)
    add: Tensor | None = None    # (B, H, M)


class Heads(nn.Module):
    """`heads` heads of one kind (read or write): controller output (B, C) → `HeadParams`."""

    def __init__(self, controller_size: int, heads: int, width: int, shift_range: int, *, write: bool,
                 clip: float = 20.0):
        super().__init__()
        self.heads = check_size("Heads", "heads", heads, minimum=0)
        self.width = check_size("Heads", "width", width)
        self.shift_range = check_size("Heads", "shift_range", shift_range, minimum=0)
        if not clip > 0:
            raise ValueError(f"Heads: clip must be > 0, got {clip}")
        self.write, self.clip = write, float(clip)
        # per head: key M, strength 1, gate 1, shift 2k+1, gamma 1 (+ erase M, add M when writing)
        self.sizes = [width, 1, 1, 2 * shift_range + 1, 1] + ([width, width] if write else [])
        self.linear = nn.Linear(check_size("Heads", "controller_size", controller_size), heads * sum(self.sizes))

    def forward(self, h: Tensor) -> HeadParams:
        raw = self.linear(h).clamp(-self.clip, self.clip).view(h.shape[0], self.heads, sum(self.sizes))
        parts = torch.split(raw, self.sizes, dim=-1)
        key, beta, gate, shift, gamma = parts[:5]
        out = HeadParams(torch.tanh(key), F.softplus(beta).squeeze(-1), torch.sigmoid(gate).squeeze(-1),
                         torch.softmax(shift, dim=-1), 1.0 + F.softplus(gamma).squeeze(-1))
        if self.write:
            out = out._replace(erase=torch.sigmoid(parts[5]), add=torch.tanh(parts[6]))
        return out
