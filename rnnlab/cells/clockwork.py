"""Clockwork recurrence (Koutník et al. 2014): groups of units updated only every d steps.

Unit j has a period T_j; at step t (counted from the start of the sequence, carried in the
state) it takes the wrapped cell's new value when t mod T_j = 0 and keeps its old value
otherwise. Slow groups integrate over coarse time scales. `periods` gives one period per group;
the state's units are split into equal consecutive groups, fastest first.

The wrapped cell steps every unit at every step and what a held unit computed is discarded. Its internals are therefore reported like a padded
step's: 0 for a held unit, except state leaves (an LSTM's "c"), which report the held value the
state carries.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from rnnlab.cells._state import hidden_of, state_map
from rnnlab.cells.base import RecurrentCell, check_size
from rnnlab.cells.wrapper import PerUnitWrapper


class ClockworkCell(PerUnitWrapper):
    """`cell` whose units update only every T_j steps (periods: one per equal group of units).

    No parameters of its own; buffer `unit_period` (state_size,). State: (inner state, step (B, 1)
    long, the steps taken). step: out_t = the hidden vector after holding (B, state_size);
    internals are the inner cell's, 0 on held units, state leaves reported as carried.
    """

    def __init__(self, cell: RecurrentCell, periods: Sequence[int] = (1, 2, 4, 8)):
        super().__init__(cell)
        n = cell.state_size
        if not periods:
            raise ValueError(f"ClockworkCell: give at least one period, got {list(periods)}")
        for p in periods:
            check_size("ClockworkCell", "every period", p)
        if n % len(periods):
            raise ValueError(f"ClockworkCell: state size {n} does not split into {len(periods)} equal groups")
        self.periods = list(periods)
        self.register_buffer("unit_period", torch.tensor(self.periods).repeat_interleave(n // len(periods)))

    def init_state(self, batch: int, device=None, dtype=None) -> tuple:
        inner = self.cell.init_state(batch, device, dtype)
        return inner, torch.zeros(batch, 1, dtype=torch.long, device=hidden_of(inner).device)

    def step(self, x_t: Tensor, state: tuple):
        inner, step = state
        _, new, internals = self.cell.step(x_t, inner)
        active = (step % self.unit_period) == 0  # (B, units)
        mixed = state_map(lambda old, v: torch.where(active, v, old), inner, new)
        # a held unit's values were not used: 0, as for padding (values of another width pass as computed)
        held = {k: v.masked_fill(~active, 0) if v.shape == active.shape else v for k, v in internals.items()}
        return hidden_of(mixed), (mixed, step + 1), self.carry(held, mixed)

    def carried(self, state: tuple) -> dict[str, Tensor]:
        return self.cell.carried(state[0])

    def extra_repr(self) -> str:
        return f"periods={self.periods}"
