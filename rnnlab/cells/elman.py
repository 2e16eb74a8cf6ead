"""Elman (simple) recurrent cell:  h_t = f(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh).

Parameters as torch.nn.RNNCell: weight_ih (H, D), weight_hh (H, H), bias_ih (H), bias_hh (H).
With activation "tanh" or "relu" it is exactly torch.nn.RNNCell; "sigmoid" and "identity" are
the other classic choices (identity gives a linear RNN).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnlab.cells.activations import ACTIVATIONS, check_activation
from rnnlab.cells.base import RecurrentCell, check_size


class ElmanCell(RecurrentCell):
    """Elman cell: h_t = f(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), torch.nn.RNNCell's parameters.

    ElmanCell(input_size D, hidden_size H, activation="tanh" (or "relu", "sigmoid", "identity"),
    bias=True). weight_ih (H, D), weight_hh (H, H), bias_ih, bias_hh (H). State h (B, H);
    out_t = h_t; no internals. `fused_scan(x (T, B, D), h0, mask (T, B) or None)` → (y (T, B, H),
    h_T) runs the whole sequence through the hand-derived BPTT of elman_bptt.py.
    """

    def __init__(self, input_size: int, hidden_size: int, activation: str = "tanh", bias: bool = True):
        super().__init__()
        self.input_size = check_size("ElmanCell", "input_size", input_size)
        self.hidden_size = check_size("ElmanCell", "hidden_size", hidden_size)
        self.activation = check_activation(activation)
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(hidden_size)) if bias else None
        self.bias_hh = nn.Parameter(torch.empty(hidden_size)) if bias else None
        self.reset_parameters()

    def init_state(self, batch: int, device=None, dtype=None) -> Tensor:
        return self._zeros(batch, self.hidden_size, device, dtype)

    def forward(self, x_t: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        self.check_input(x_t, state)
        pre = nn.functional.linear(x_t, self.weight_ih, self.bias_ih) + nn.functional.linear(
            state, self.weight_hh, self.bias_hh
        )
        h = ACTIVATIONS[self.activation](pre)
        return h, h

    def fused_scan(self, x: Tensor, h0: Tensor, mask: Tensor | None):
        """Whole sequence with the hand-derived BPTT (see elman_bptt.py)."""
        from rnnlab.cells.elman_bptt import elman_scan

        return elman_scan(self, x, h0, mask)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, activation={self.activation!r}, bias={self.bias_ih is not None}"
