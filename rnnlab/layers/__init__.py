"""Layers that unroll cells over sequences and compose them, the encoder builder, poolings and the
input checks the models share."""
from rnnlab.layers.bidirectional import Bidirectional
from rnnlab.layers.encoder import EncoderSpec, build_encoder
from rnnlab.layers.pooling import AttentionPooling, LastPooling, MeanPooling, Pooling, make_pooling
from rnnlab.layers.recurrent import Recurrent
from rnnlab.layers.sequence import OneHot, check_lengths, check_tokens
from rnnlab.layers.stacked import Stacked
from rnnlab.layers.torch_compat import GRU, LSTM, RNN, TorchStyleRNN, from_torch

__all__ = ["Recurrent", "Bidirectional", "Stacked", "build_encoder", "EncoderSpec", "Pooling", "LastPooling",
           "MeanPooling", "AttentionPooling", "make_pooling", "OneHot", "check_tokens", "check_lengths",
           "RNN", "LSTM", "GRU", "TorchStyleRNN", "from_torch"]
