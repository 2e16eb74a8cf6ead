"""Zoneout (Krueger et al. 2017): each unit keeps its previous value with probability p.

Training:   s_t = d ⊙ s_{t-1} + (1 − d) ⊙ s̃_t,   d ~ Bernoulli(p) per unit and step
Evaluation: s_t = p s_{t-1} + (1 − p) s̃_t         (the expectation)
applied to every leaf of the state (h and c of an LSTM). Like dropout it regularises, but the
identity path through time it opens also carries gradient.
"""
from __future__ import annotations

import torch
from torch import Tensor

from rnnlab.cells._state import hidden_of, state_map
from rnnlab.cells.base import RecurrentCell
from rnnlab.cells.wrapper import CellWrapper


class Zoneout(CellWrapper):
    def __init__(self, cell: RecurrentCell, p: float = 0.1):
        super().__init__(cell)
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Zoneout: p must be in [0, 1), got {p}")
        self.p = p

    def _zone(self, old: Tensor, new: Tensor) -> Tensor:
        if self.training:
            keep = torch.rand_like(new) < self.p
            return torch.where(keep, old, new)
        return new + self.p * (old - new)

    def forward(self, x_t: Tensor, state):
        _, new = self.cell(x_t, state)
        mixed = state_map(self._zone, state, new)
        return hidden_of(mixed), mixed

    def extra_repr(self) -> str:
        return f"p={self.p}"
