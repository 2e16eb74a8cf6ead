"""Layers that unroll cells over sequences and compose them."""
from rnnlab.layers.bidirectional import Bidirectional
from rnnlab.layers.recurrent import Recurrent
from rnnlab.layers.stacked import Stacked
from rnnlab.layers.torch_compat import GRU, LSTM, RNN, TorchStyleRNN, from_torch

__all__ = ["Recurrent", "Bidirectional", "Stacked", "RNN", "LSTM", "GRU", "TorchStyleRNN", "from_torch"]
