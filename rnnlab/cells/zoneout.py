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
from rnnlab.cells.wrapper import StochasticWrapper


class Zoneout(StochasticWrapper):
    """Zoneout of every state leaf of `cell`, each unit keeping its old value with probability p.

    p in [0, 1); no parameters. State: the inner cell's. step: out_t = the zoned hidden vector
    (B, state_size); internals are the inner cell's, with state leaves (an LSTM's "c") reported as
    carried, i.e. after zoning. Fresh random draws every step in training mode; in eval mode the
    deterministic expectation.
    """

    def __init__(self, cell: RecurrentCell, p: float = 0.1):
        super().__init__(cell, p)

    def _zone(self, old: Tensor, new: Tensor) -> Tensor:
        if self.training:
            keep = torch.rand_like(new) < self.p
            return torch.where(keep, old, new)
        return new + self.p * (old - new)

    def step(self, x_t: Tensor, state):
        _, new, internals = self.cell.step(x_t, state)
        mixed = state_map(self._zone, state, new)
        return hidden_of(mixed), mixed, self.carry(internals, mixed)
