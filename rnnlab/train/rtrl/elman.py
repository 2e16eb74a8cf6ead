"""Hand-derived step Jacobians of the Elman cell, h_t = f(a_t), a_t = W_ih x_t + b_ih + W_hh h_{t−1} + b_hh.

With f'_t = f'(a_t) read through h_t (activations.py):
    D_t  = ∂h_t/∂h_{t−1} = diag(f'_t) W_hh                       (E1)
    X_t  = ∂h_t/∂x_t     = diag(f'_t) W_ih                       (E2)
    ∂h_t/∂W_ih[k, j] = e_k f'_{t,k} x_{t,j}   → Outer(diag f', x)  (E3)
    ∂h_t/∂W_hh[k, j] = e_k f'_{t,k} h_{t−1,j} → Outer(diag f', h)  (E4)
    ∂h_t/∂b_ih = ∂h_t/∂b_hh = diag(f'_t)                         (E5)
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from rnnlab.cells.activations import ACTIVATIONS
from rnnlab.cells.elman import ElmanCell
from rnnlab.train.rtrl.jacobian import Full, Outer, StepJacobian, diag_pattern, diag_rows


def elman_step(cell: ElmanCell, x: Tensor, h: Tensor, structure: bool = True) -> StepJacobian:
    """`structure`: also return the sparsity patterns (SnAp reads them once)."""
    H = cell.hidden_size
    act = ACTIVATIONS[cell.activation]
    a = F.linear(x, cell.weight_ih, cell.bias_ih) + F.linear(h, cell.weight_hh, cell.bias_hh)
    h_new = act(a)
    fp = act.derivative(h_new)                          # f'(a_t)
    G = diag_rows(fp, H, 0)                             # ∂h_t/∂a_t = diag(f'_t)
    D = fp.unsqueeze(2) * cell.weight_hh                # (E1)
    X = fp.unsqueeze(2) * cell.weight_ih                # (E2)
    blocks = [Outer(G, x), Outer(G, h)]                 # (E3), (E4)
    if cell.bias_ih is not None:
        blocks += [Full(G), Full(G)]                    # (E5)
    jac = StepJacobian(h_new, h_new, D, X, blocks, slice(0, H))
    if structure:
        jac.D_pattern = torch.ones(H, H, dtype=torch.bool, device=x.device)
        jac.block_patterns = [diag_pattern(H, H, 0, x.device)] * len(blocks)
    return jac
