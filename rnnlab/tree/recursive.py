"""The recursive neural network of Socher et al. (2011): a parent is a squashed linear map of its
children side by side,

    h = tanh(W [h_1; ...; h_N] + W_x x + b)        (Socher et al. 2011, eq. 1, plus an input term)

At a leaf the children are zeros and h = tanh(W_x x + b): the word vector passed through the same
nonlinearity (Socher et al. use the word vector itself; a projection lets the embedding size
differ from the hidden size). Binary by default (arity 2): a missing child reads as zeros."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnlab.tree.base import State, TreeCell, concat_children, pad_children


class RecursiveCell(TreeCell):
    internals = ("a",)

    def __init__(self, input_size: int, hidden_size: int, arity: int = 2):
        super().__init__(input_size, hidden_size)
        self.arity = arity
        self.combine = nn.Linear(arity * hidden_size, hidden_size)  # W, b
        self.input = nn.Linear(input_size, hidden_size, bias=False)  # W_x

    def step(self, x: Tensor, children: State, mask: Tensor):
        a = self.combine(concat_children(pad_children(children, self.arity)[0])) + self.input(x)  # pre-activation
        h = torch.tanh(a)
        return (h,), {"a": a}
