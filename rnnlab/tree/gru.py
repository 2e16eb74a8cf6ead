"""A Tree-GRU: the GRU's update of a state from its children, child-sum style (any number of
children), with a reset gate per child so each child's contribution can be cut on its own.

    h̄ = mean_k h_k                                   (over present children; 0 at a leaf)
    r_k = σ(W_r x + U_r h_k + b_r)                   (per child)
    z = σ(W_z x + U_z h̄ + b_z)
    n = tanh(W_n x + U_n mean_k (r_k ⊙ h_k) + b_n)
    h = (1 − z) ⊙ n + z ⊙ h̄

The mean (not the sum) keeps h bounded in (−1, 1) whatever the number of children, as a GRU's
interpolation between the candidate and the previous state does on a sequence."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnlab.tree.base import State, TreeCell, child_mean


class TreeGRUCell(TreeCell):
    internals = ("r", "z", "n")

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__(input_size, hidden_size)
        H = hidden_size
        self.x_gates = nn.Linear(input_size, 3 * H)  # W_r, W_z, W_n with biases
        self.h_r = nn.Linear(H, H, bias=False)  # U_r
        self.h_z = nn.Linear(H, H, bias=False)  # U_z
        self.h_n = nn.Linear(H, H, bias=False)  # U_n

    def step(self, x: Tensor, children: State, mask: Tensor):
        h_k = children[0]
        xr, xz, xn = self.x_gates(x).chunk(3, dim=-1)
        h_bar = child_mean(h_k, mask)
        r = torch.sigmoid(xr.unsqueeze(1) + self.h_r(h_k))  # (M, K, H)
        z = torch.sigmoid(xz + self.h_z(h_bar))
        n = torch.tanh(xn + self.h_n(child_mean(r * h_k, mask)))
        h = (1 - z) * n + z * h_bar
        return (h,), {"r": r, "z": z, "n": n}
