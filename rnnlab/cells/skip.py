"""Recurrence that skips steps: the cell reads h_{t-d} instead of h_{t-1} (delay d > 1).

The sequence then splits into d interleaved chains, each with d times fewer steps between an
input and a distant output, which shortens the paths the gradient must travel. The state holds the
last d states, newest first: (s_{t-1}, …, s_{t-d}).
"""
from __future__ import annotations

from torch import Tensor

from rnnlab.cells.base import RecurrentCell, check_size
from rnnlab.cells.wrapper import CellWrapper


class SkipCell(CellWrapper):
    """`cell` reading the state of `delay` steps back, s_{t-d}, instead of s_{t-1}.

    No parameters of its own. State: a tuple of `delay` inner states, newest first. step: the
    inner cell's out_t and internals; `carried` reads the newest state.
    """

    def __init__(self, cell: RecurrentCell, delay: int = 2):
        super().__init__(cell)
        self.delay = check_size("SkipCell", "delay", delay)

    def init_state(self, batch: int, device=None, dtype=None) -> tuple:
        return tuple(self.cell.init_state(batch, device, dtype) for _ in range(self.delay))

    def step(self, x_t: Tensor, state: tuple):
        out, new, internals = self.cell.step(x_t, state[-1])  # reads s_{t-d}
        return out, (new,) + tuple(state[:-1]), internals

    def carried(self, state: tuple) -> dict[str, Tensor]:
        return self.cell.carried(state[0])

    def extra_repr(self) -> str:
        return f"delay={self.delay}"
