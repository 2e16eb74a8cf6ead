"""Residual recurrence: an identity path through time,  h_t = h_{t-1} + g(x_t, h_{t-1}).

g is the wrapped cell's hidden output. Only the hidden vector gets the skip; any other state
(an LSTM's c) is the wrapped cell's own. The gradient dh_t/dh_{t-1} = I + ∂g/∂h never vanishes
through the identity, at the price of h growing without a squashing bound.
"""
from __future__ import annotations

from torch import Tensor

from rnnlab.cells._state import hidden_of, replace_hidden
from rnnlab.cells.base import RecurrentCell
from rnnlab.cells.wrapper import CellWrapper


class ResidualCell(CellWrapper):
    """h_t = h_{t-1} + g_t, g_t = `cell`'s output (its output and state widths must match).

    No parameters of its own. State: the inner cell's with the hidden vector replaced by h_t.
    step: out_t = h_t (B, state_size); internals are the inner cell's (its other state leaves are
    carried unchanged).
    """

    def __init__(self, cell: RecurrentCell):
        super().__init__(cell)
        if cell.output_size != cell.state_size:
            raise ValueError("ResidualCell needs a cell whose output and state have the same width")

    def step(self, x_t: Tensor, state):
        g, new, internals = self.cell.step(x_t, state)
        h = hidden_of(state) + g
        return h, replace_hidden(new, h), internals
