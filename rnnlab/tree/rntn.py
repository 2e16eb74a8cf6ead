"""The recursive neural tensor network of Socher et al. (2013): the recursive net plus a bilinear
term, so the children can interact multiplicatively,

    c = [h_l; h_r]
    h = tanh(c^T V^[1:H] c + W c + W_x x + b)        (Socher et al. 2013, eq. 2; V is (H, 2H, 2H))

Binary only. At a leaf c = 0, so h = tanh(W_x x + b)."""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnlab.tree.base import State, TreeCell, concat_children, pad_children


class TensorCell(TreeCell):
    arity = 2
    internals = ("tensor", "a")

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__(input_size, hidden_size)
        self.combine = nn.Linear(2 * hidden_size, hidden_size)  # W, b
        self.input = nn.Linear(input_size, hidden_size, bias=False)  # W_x
        # small: the tensor term starts as a perturbation of the plain recursive net
        self.V = nn.Parameter(torch.randn(hidden_size, 2 * hidden_size, 2 * hidden_size)
                              / (4 * math.sqrt(2 * hidden_size) * 2 * hidden_size) ** 0.5)

    def step(self, x: Tensor, children: State, mask: Tensor):
        c = concat_children(pad_children(children, self.arity)[0])  # (M, 2H)
        # c^T V^[k] c for every slice k, as Σ_i c_i (Σ_j V[k,i,j] c_j): the inner sum is a linear map of c by
        # V viewed as (H·2H, 2H) — a view, never a copy. (torch.einsum("mi,kij,mj->mk") permutes V into a
        # contiguous copy per call and keeps it for backward: 54 MB per call at H = 150, so one call per
        # node, the node-by-node schedule, ran out of memory on 25 SST trees.)
        M, H2 = c.shape
        Vc = F.linear(c, self.V.view(-1, H2)).view(M, -1, H2)  # (M, H, 2H): V^[k] c
        tensor = (Vc * c.unsqueeze(1)).sum(-1)  # (M, H)
        a = tensor + self.combine(c) + self.input(x)
        return (torch.tanh(a),), {"tensor": tensor, "a": a}
