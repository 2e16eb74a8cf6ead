"""Which step Jacobians a cell gets: hand-derived for Elman, LSTM (peephole, no layer norm or
projection), GRU (both variants, no layer norm) and the element-wise LSTM; torch.func for every
other cell."""
from __future__ import annotations

from torch import Tensor

from rnnlab.cells._state import State
from rnnlab.cells.elman import ElmanCell
from rnnlab.cells.elementwise_lstm import ElementwiseLSTMCell
from rnnlab.cells.gru import GRUCell
from rnnlab.cells.lstm import LSTMCell
from rnnlab.train.rtrl.elman import elman_step
from rnnlab.train.rtrl.elementwise_lstm import elementwise_lstm_step
from rnnlab.train.rtrl.generic import generic_step
from rnnlab.train.rtrl.gru import gru_step, gru_supported
from rnnlab.train.rtrl.jacobian import StepJacobian
from rnnlab.train.rtrl.lstm import lstm_step, lstm_supported


def hand_derived(cell) -> bool:
    """True when `step_jacobian` uses a hand-derived kernel for `cell` (exact types only: a
    subclass may change the step)."""
    return (type(cell) is ElmanCell or type(cell) is LSTMCell and lstm_supported(cell)
            or type(cell) is GRUCell and gru_supported(cell) or type(cell) is ElementwiseLSTMCell)


def step_jacobian(cell, x: Tensor, state: State, generic: bool = False, structure: bool = True) -> StepJacobian:
    """One step of `cell` from (x (B, D), state) with its Jacobians (see jacobian.py);
    `generic=True` forces the torch.func path (tests compare the two); `structure=False` skips
    the sparsity patterns (only SnAp's first step needs them)."""
    if not generic and hand_derived(cell):
        if type(cell) is ElmanCell:
            return elman_step(cell, x, state, structure)
        if type(cell) is LSTMCell:
            return lstm_step(cell, x, state, structure)
        if type(cell) is ElementwiseLSTMCell:
            return elementwise_lstm_step(cell, x, state, structure)
        return gru_step(cell, x, state, structure)
    return generic_step(cell, x, state)
