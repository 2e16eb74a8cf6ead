"""rnnlab: recurrent neural networks you can build, train fast and look inside."""
from rnnlab.cells import (
    CellWrapper, ClockworkCell, DeepOutput, DeepTransition, ElmanCell, GRUCell, JordanCell, LeakyCell,
    LSTMCell, RecurrentCell, RecurrentDropout, ResidualCell, SkipCell, Zoneout, detach,
)
from rnnlab.layers import GRU, LSTM, RNN, Bidirectional, Recurrent, Stacked, from_torch

__version__ = "0.1.0"

__all__ = [
    "RecurrentCell", "CellWrapper", "ElmanCell", "JordanCell", "LSTMCell", "GRUCell", "LeakyCell",
    "ResidualCell", "SkipCell", "ClockworkCell", "Zoneout", "RecurrentDropout", "DeepTransition",
    "DeepOutput", "Recurrent", "Bidirectional", "Stacked", "RNN", "LSTM", "GRU", "from_torch", "detach",
]
