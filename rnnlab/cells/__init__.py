"""Recurrent cells: one time step, `out_t, state = cell(x_t, state)`."""
from rnnlab.cells._state import State, detach, hidden_of, state_map
from rnnlab.cells.base import RecurrentCell
from rnnlab.cells.clockwork import ClockworkCell
from rnnlab.cells.deep import DeepOutput, DeepTransition
from rnnlab.cells.elman import ElmanCell
from rnnlab.cells.feedforward import FeedForwardCell
from rnnlab.cells.gru import GRUCell
from rnnlab.cells.jordan import JordanCell
from rnnlab.cells.leaky import LeakyCell
from rnnlab.cells.lstm import LSTMCell
from rnnlab.cells.recurrent_dropout import RecurrentDropout
from rnnlab.cells.residual import ResidualCell
from rnnlab.cells.skip import SkipCell
from rnnlab.cells.wrapper import CellWrapper
from rnnlab.cells.zoneout import Zoneout

__all__ = [
    "State", "RecurrentCell", "CellWrapper", "ElmanCell", "JordanCell", "LSTMCell", "GRUCell",
    "LeakyCell", "ResidualCell", "SkipCell", "ClockworkCell", "Zoneout", "RecurrentDropout",
    "DeepTransition", "DeepOutput", "FeedForwardCell", "detach", "hidden_of", "state_map",
]
