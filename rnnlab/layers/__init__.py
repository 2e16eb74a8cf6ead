"""Layers that unroll cells over sequences and compose them."""
from rnnlab.layers.bidirectional import Bidirectional
from rnnlab.layers.recurrent import Recurrent
from rnnlab.layers.stacked import Stacked

__all__ = ["Recurrent", "Bidirectional", "Stacked"]
