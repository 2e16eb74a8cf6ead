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

from rnnlab.cells.activations import ACTIVATIONS, check_activation
from rnnlab.cells.base import RecurrentCell, check_size


class ElementwiseCell(RecurrentCell):
    """ElementwiseCell(input_size D, hidden_size H, activation="tanh", bias=True):
    h_t = f(W_ih x_t + b_ih + u ⊙ h_{t−1} + b_hh). weight_ih (H, D), weight_hh (H,) (the diagonal u),
    bias_ih, bias_hh (H). State h (B, H); out_t = h_t."""

    def __init__(self, input_size: int, hidden_size: int, activation: str = "tanh", bias: bool = True):
        super().__init__()
        self.input_size = check_size("ElementwiseCell", "input_size", input_size)
        self.hidden_size = check_size("ElementwiseCell", "hidden_size", hidden_size)
        self.activation = check_activation(activation)
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(hidden_size)) if bias else None
        self.bias_hh = nn.Parameter(torch.empty(hidden_size)) if bias else None
        self.reset_parameters()

    def init_state(self, batch: int, device=None, dtype=None) -> Tensor:
        return self._zeros(batch, self.hidden_size, device, dtype)

    def forward(self, x_t: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        self.check_input(x_t, state)
        pre = F.linear(x_t, self.weight_ih, self.bias_ih) + self.weight_hh * state
        if self.bias_hh is not None:
            pre = pre + self.bias_hh
        h = ACTIVATIONS[self.activation](pre)
        return h, h

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, activation={self.activation!r}, bias={self.bias_ih is not None}"
