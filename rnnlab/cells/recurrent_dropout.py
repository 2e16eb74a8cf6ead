"""Variational recurrent dropout (Gal & Ghahramani 2016): one dropout mask per sequence.

The hidden vector h_{t-1} that the wrapped cell reads is multiplied by a mask m (entries 0 or
1/(1−p)) drawn once when the state is created and reused at every step, so the recurrence sees
the same thinned network all along the sequence. The mask travels in the state, `(inner, m)`,
so a state carried to the next batch keeps its mask; a fresh `init_state` draws a new one.
In eval mode the mask is ignored.
"""
from __future__ import annotations

import torch
from torch import Tensor

from rnnlab.cells._state import hidden_of, replace_hidden
from rnnlab.cells.base import RecurrentCell
from rnnlab.cells.wrapper import StochasticWrapper


class RecurrentDropout(StochasticWrapper):
    """Variational dropout of the hidden vector that `cell` reads, one mask per sequence.

    p in [0, 1); no parameters. State: (inner state, mask shaped like h (B, ·)), the mask drawn by
    `init_state` (ones in eval mode). step: the inner cell's out_t and internals, computed from the
    thinned h_{t-1}; the inner state is carried undropped.
    """

    def __init__(self, cell: RecurrentCell, p: float = 0.25):
        super().__init__(cell, p)

    def init_state(self, batch: int, device=None, dtype=None) -> tuple:
        inner = self.cell.init_state(batch, device, dtype)
        h = hidden_of(inner)
        mask = torch.ones_like(h)
        if self.training and self.p > 0:
            mask = torch.bernoulli(torch.full_like(h, 1 - self.p)) / (1 - self.p)
        return inner, mask

    def step(self, x_t: Tensor, state: tuple):
        inner, mask = state
        seen = replace_hidden(inner, hidden_of(inner) * mask) if self.training else inner
        out, new, internals = self.cell.step(x_t, seen)
        return out, (new, mask), internals

    def carried(self, state: tuple) -> dict[str, Tensor]:
        return self.cell.carried(state[0])
