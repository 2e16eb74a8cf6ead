"""Element-wise (diagonal) recurrence, the IndRNN of Li et al. (2018):

    h_t = f(W_ih x_t + b_ih + u ⊙ h_{t−1} + b_hh)

Each unit feeds back only to itself (u is a vector, W_hh = diag(u)), so ∂h_t/∂h_{t−1} is
diagonal: units mix only through the next layer. That makes exact RTRL cheap — the influence of a
parameter reaches only its own unit, O(P) numbers instead of O(H·P) (rnnlab.train.rtrl,
method "diag"); `LeakyCell` over it keeps the recurrence diagonal.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnlab.cells.activations import ACTIVATIONS
from rnnlab.cells.elman import ElmanCell


class ElementwiseCell(ElmanCell):
    """ElementwiseCell(input_size D, hidden_size H, activation="tanh", bias=True): an Elman cell
    whose recurrent weight is a vector, h_t = f(W_ih x_t + b_ih + u ⊙ h_{t−1} + b_hh).
    weight_ih (H, D), weight_hh (H,) (the diagonal u), bias_ih, bias_hh (H). State h (B, H);
    out_t = h_t. No hand-derived BPTT: it runs on the step path."""

    def __init__(self, input_size: int, hidden_size: int, activation: str = "tanh", bias: bool = True):
        super().__init__(input_size, hidden_size, activation, bias)
        self.weight_hh = nn.Parameter(torch.empty(hidden_size))  # replaces Elman's (H, H), same place
        self.reset_parameters()

    def forward(self, x_t: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        self.check_input(x_t, state)
        pre = F.linear(x_t, self.weight_ih, self.bias_ih) + self.weight_hh * state
        if self.bias_hh is not None:
            pre = pre + self.bias_hh
        h = ACTIVATIONS[self.activation](pre)
        return h, h

    def fused_scan(self, x: Tensor, h0: Tensor, mask: Tensor | None):
        return None  # Elman's kernel multiplies by a matrix W_hh
