"""The Child-Sum Tree-LSTM (Tai et al. 2015, eqs. 2–8): any number of unordered children, one
forget gate per child read from that child's own h.

    h̃ = Σ_k h_k
    i = σ(W_i x + U_i h̃ + b_i)                      (eq. 3)
    f_k = σ(W_f x + U_f h_k + b_f)                   (eq. 4, one per child)
    o = σ(W_o x + U_o h̃ + b_o)                      (eq. 5)
    u = tanh(W_u x + U_u h̃ + b_u)                   (eq. 6)
    c = i ⊙ u + Σ_k f_k ⊙ c_k                        (eq. 7)
    h = o ⊙ tanh(c)                                  (eq. 8)

Absent children have h_k = c_k = 0, so they add nothing to h̃ or c whatever their f_k."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnlab.tree.base import State, TreeCell


class ChildSumTreeLSTMCell(TreeCell):
    state_parts = 2
    internals = ("i", "f", "o", "u", "c")

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__(input_size, hidden_size)
        H = hidden_size
        self.x_iou = nn.Linear(input_size, 3 * H)  # W_i, W_o, W_u and their biases
        self.h_iou = nn.Linear(H, 3 * H, bias=False)  # U_i, U_o, U_u
        self.x_f = nn.Linear(input_size, H)  # W_f, b_f
        self.h_f = nn.Linear(H, H, bias=False)  # U_f

    def step(self, x: Tensor, children: State, mask: Tensor):
        h_k, c_k = children
        i, o, u = (self.x_iou(x) + self.h_iou(h_k.sum(1))).chunk(3, dim=-1)
        i, o, u = torch.sigmoid(i), torch.sigmoid(o), torch.tanh(u)  # eqs. 3, 5, 6
        f = torch.sigmoid(self.x_f(x).unsqueeze(1) + self.h_f(h_k))  # eq. 4, (M, K, H)
        c = i * u + (f * c_k).sum(1)  # eq. 7
        h = o * torch.tanh(c)  # eq. 8
        return (h, c), {"i": i, "f": f, "o": o, "u": u, "c": c}
