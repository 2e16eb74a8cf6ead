"""Leaky integration (multi-time-scale units, Jaeger et al. 2007; Mozer 1992).

    μ_t = α ⊙ μ_{t-1} + (1 − α) ⊙ v_t,     v_t = the wrapped cell's new state from (x_t, μ_{t-1})

applied to every leaf of the state (h, and c for an LSTM), with a per-unit α ∈ (0, 1): units
with α near 1 change slowly and keep information longer. α can be fixed or learned; learned α is
kept in (0, 1) by parametrising it as σ(a).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from rnnlab.cells._state import hidden_of, state_map
from rnnlab.cells.base import RecurrentCell
from rnnlab.cells.wrapper import PerUnitWrapper


class LeakyCell(PerUnitWrapper):
    """Leaky integration of every state leaf of `cell`: μ_t = α ⊙ μ_{t-1} + (1 − α) ⊙ v_t.

    alpha: a float or one value per unit (state_size,), each in (0, 1); learn_alpha makes it a
    parameter `alpha_logit` (state_size,) = σ⁻¹(α), else a buffer. State: the inner cell's, mixed.
    step: out_t = the mixed hidden vector (B, state_size); internals are the inner cell's, with
    state leaves (an LSTM's "c") reported as carried, i.e. after mixing.
    """

    def __init__(self, cell: RecurrentCell, alpha: float | Sequence[float] | Tensor = 0.5, learn_alpha: bool = False):
        super().__init__(cell)
        alpha = torch.as_tensor(alpha, dtype=torch.get_default_dtype())
        if alpha.dim() > 1 or alpha.dim() == 1 and alpha.shape[0] != cell.state_size:
            raise ValueError(f"LeakyCell: alpha must be a number or one value per state unit ({cell.state_size}), "
                             f"got shape {tuple(alpha.shape)}")
        alpha = alpha.expand(cell.state_size).clone()
        if not ((alpha > 0) & (alpha < 1)).all():
            raise ValueError("LeakyCell: every alpha must lie strictly between 0 and 1")
        logit = torch.log(alpha) - torch.log1p(-alpha)  # σ⁻¹(α)
        self.learn_alpha = learn_alpha
        if learn_alpha:
            self.alpha_logit = nn.Parameter(logit)
        else:
            self.register_buffer("alpha_logit", logit)

    @property
    def alpha(self) -> Tensor:
        return torch.sigmoid(self.alpha_logit)

    def step(self, x_t: Tensor, state):
        _, new, internals = self.cell.step(x_t, state)
        a = self.alpha.to(hidden_of(new).dtype)
        mixed = state_map(lambda old, v: v + a * (old - v), state, new)  # α μ + (1 − α) v
        return hidden_of(mixed), mixed, self.carry(internals, mixed)

    def extra_repr(self) -> str:
        return f"learn_alpha={self.learn_alpha}"
