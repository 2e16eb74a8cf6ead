"""Element-wise LSTM (the eLSTM of Irie, Gopalakrishnan & Schmidhuber 2023, "Exploring the promise
and limits of real-time recurrent learning"): an LSTM whose recurrent weights are diagonal.

    a = W_ih x_t + b_ih + b_hh + u ⊙ [h_{t−1}; h_{t−1}; h_{t−1}; h_{t−1}]   split into a_i, a_f, a_g, a_o
    i, f, o = σ(a_i), σ(a_f), σ(a_o),   g = φ(a_g)
    c_t = f ⊙ c_{t−1} + i ⊙ g,          h_t = o ⊙ ψ(c_t)

Each gate of unit k reads only h_{t−1,k} (u is a vector of 4H: W_hh = diag(u) per gate), so unit k's
state (h_k, c_k) depends on h_{t−1} and c_{t−1} through unit k alone: ∂s_t/∂s_{t−1} is block-
diagonal (one 2 × 2 block per unit) and a parameter of unit k influences (h_k, c_k) only, at every
later step. Exact RTRL then keeps 2 numbers per parameter — O(P) memory and time per step instead of
O(H·P) and O(H²·P) (rnnlab.train.rtrl, method "diag"; the step is hand-derived in
rnnlab/train/rtrl/elementwise_lstm.py). Units mix only through the next layer or the readout.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnlab.cells.activations import ACTIVATIONS
from rnnlab.cells.lstm import LSTMCell


class ElementwiseLSTMCell(LSTMCell):
    """ElementwiseLSTMCell(input_size D, hidden_size H, *, bias=True, candidate_activation="tanh",
    state_activation="tanh", forget_bias=0.0): an LSTM cell (gate order i, f, g, o, torch.nn's
    names) whose recurrent weight is a vector: weight_ih (4H, D), weight_hh (4H,) (the diagonals
    of the four gates' recurrent matrices), bias_ih, bias_hh (4H). State (h, c), each (B, H);
    out_t = h_t. No peepholes, layer norm or projection; no hand-derived BPTT (the step path)."""

    def __init__(self, input_size: int, hidden_size: int, *, bias: bool = True, candidate_activation: str = "tanh",
                 state_activation: str = "tanh", forget_bias: float = 0.0):
        super().__init__(input_size, hidden_size, bias=bias, candidate_activation=candidate_activation,
                         state_activation=state_activation, forget_bias=forget_bias)
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size))  # replaces the (4H, H) matrix, same place
        self.reset_parameters()

    def _gates(self, x_t: Tensor, h: Tensor, c: Tensor):
        pre = F.linear(x_t, self.weight_ih, self.bias_ih) + self.weight_hh * h.repeat(1, 4)
        if self.bias_hh is not None:
            pre = pre + self.bias_hh
        pi, pf, pg, po = pre.chunk(4, 1)
        i, f, o = torch.sigmoid(pi), torch.sigmoid(pf), torch.sigmoid(po)
        g = ACTIVATIONS[self.candidate_activation](pg)
        return i, f, g, o, f * c + i * g

    @property
    def is_torch_lstm(self) -> bool:
        return False  # torch's kernel multiplies h by a matrix

    def fused_scan(self, x: Tensor, state, mask):
        return None  # the hand-derived LSTM BPTT multiplies by a matrix W_hh
