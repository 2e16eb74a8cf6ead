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
    def __init__(self, cell: RecurrentCell):
        super().__init__(cell)
        if cell.output_size != cell.state_size:
            raise ValueError("ResidualCell needs a cell whose output and state have the same width")

    def forward(self, x_t: Tensor, state):
        g, new = self.cell(x_t, state)
        h = hidden_of(state) + g
        return h, replace_hidden(new, h)
