"""The N-ary Tree-LSTM (Tai et al. 2015, eqs. 9–14): at most N ordered children, each with its own
weights, and a forget gate per child that reads every child (so the left child's memory can be
kept or dropped depending on the right one). N = 2 is the binary constituency Tree-LSTM.

    i = σ(W_i x + Σ_l U_i^l h_l + b_i)                (eq. 9)
    f_k = σ(W_f x + Σ_l U_f^{kl} h_l + b_f)           (eq. 10)
    o = σ(W_o x + Σ_l U_o^l h_l + b_o)                (eq. 11)
    u = tanh(W_u x + Σ_l U_u^l h_l + b_u)             (eq. 12)
    c = i ⊙ u + Σ_k f_k ⊙ c_k                         (eq. 13)
    h = o ⊙ tanh(c)                                   (eq. 14)

Σ_l U^l h_l is one matmul of [h_1; ...; h_N]. A missing child (position past a node's last) has
h = c = 0."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnlab.tree.base import State, TreeCell, concat_children, pad_children


class NaryTreeLSTMCell(TreeCell):
    state_parts = 2
    internals = ("i", "f", "o", "u", "c")

    def __init__(self, input_size: int, hidden_size: int, arity: int = 2, forget_bias: float = 1.0):
        super().__init__(input_size, hidden_size)
        self.arity = N = arity
        H = hidden_size
        self.x_gates = nn.Linear(input_size, (3 + N) * H)  # W_i, W_o, W_u, then W_f once per child
        self.h_gates = nn.Linear(N * H, (3 + N) * H, bias=False)  # U_i^l, U_o^l, U_u^l, U_f^{kl}
        with torch.no_grad():  # a forget bias of 1: memories pass up the tree at the start
            self.x_gates.bias[3 * H:] += forget_bias

    def step(self, x: Tensor, children: State, mask: Tensor):
        h_k, c_k = pad_children(children, self.arity)
        M, _, H = h_k.shape
        gates = self.x_gates(x) + self.h_gates(concat_children(h_k))
        i, o, u = gates[:, :3 * H].chunk(3, dim=-1)
        i, o, u = torch.sigmoid(i), torch.sigmoid(o), torch.tanh(u)  # eqs. 9, 11, 12
        f = torch.sigmoid(gates[:, 3 * H:].reshape(M, self.arity, H))  # eq. 10
        c = i * u + (f * c_k).sum(1)  # eq. 13
        h = o * torch.tanh(c)  # eq. 14
        return (h, c), {"i": i, "f": f, "o": o, "u": u, "c": c}
