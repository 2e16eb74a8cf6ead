"""Hand-derived step Jacobians of the element-wise LSTM (rnnlab/cells/elementwise_lstm.py), and why
its exact RTRL costs O(P) per step.

z_t = [h_t; c_t] (rows 0..H−1 and H..2H−1). With a = W_ih x + b_ih + b_hh + u ⊙ [h_{t−1}; …] split
into a_i, a_f, a_g, a_o (u = weight_hh, 4H) and i = σ(a_i), f = σ(a_f), g = φ(a_g), o = σ(a_o),
c_t = f c_{t−1} + i g, h_t = o ψ(c_t); derivatives read through the outputs (i' = i(1−i), …):
    κ    = ∂h_t/∂c_t                 = o ψ'(c_t)                                    (EL1)
    C^c  = ∂c_t/∂a_{i,f,g,o}          = [g i', c_{t−1} f', i g', 0]                 (EL2)
    C^h  = ∂h_t/∂a_{i,f,g,o}          = κ C^c + [0, 0, 0, ψ(c_t) o']                (EL3)
    G    = ∂z_t/∂a: unit k of each gate acts on rows k (C^h) and H + k (C^c) only     (EL4)
    ∂h_t,k/∂h_{t−1,k} = Σ_q C^h_{q,k} u_{q,k},  ∂c_t,k/∂h_{t−1,k} = Σ_q C^c_{q,k} u_{q,k}   (EL5)
    ∂h_t,k/∂c_{t−1,k} = κ_k f_k,                ∂c_t,k/∂c_{t−1,k} = f_k                    (EL6)
    D_t  = the 2 × 2 blocks (EL5, EL6) of each unit on rows/columns (k, H + k); 0 elsewhere    (EL7)
    X_t  = G W_ih                                                                              (EL8)
    ∂z/∂W_ih = Outer(G, x),  ∂z/∂u[qH + k] = G[:, qH + k] h_{t−1,k},  ∂z/∂b_ih = ∂z/∂b_hh = G    (EL9)

The recursion. Every parameter θ of unit k (its rows of W_ih, u, b) has M̄_t nonzero on rows
(k, H + k) only (EL4, EL9), and D_t maps those two rows onto themselves (EL7), so J_t = D_t J_{t−1}
+ M̄_t stays on them for ever: per parameter column two numbers, j^h = ∂h_t,k/∂θ, j^c = ∂c_t,k/∂θ,
    j^h_t = (EL5)_h j^h_{t−1} + κ f j^c_{t−1} + M̄^h_t,   j^c_t = (EL5)_c j^h_{t−1} + f j^c_{t−1} + M̄^c_t.
That is SnAp-1's pattern, closed under D_t: the "diag" method (snap.py's (S2), (S3) on this pattern)
runs it exactly, holding ≤ 2P numbers per stream and O(P) work per step, where dense exact RTRL
holds 2H·P and does O(H²·P). `structure` hands SnAp these patterns (no probing).
"""
from __future__ import annotations

import torch
from torch import Tensor

from rnnlab.cells.activations import ACTIVATIONS
from rnnlab.cells.elementwise_lstm import ElementwiseLSTMCell
from rnnlab.train.rtrl.jacobian import Full, Outer, StepJacobian, diag_pattern, diag_rows
from rnnlab.train.rtrl.lstm import gate_jacobian, gate_pattern


def elementwise_lstm_step(cell: ElementwiseLSTMCell, x: Tensor, state: tuple[Tensor, Tensor],
                          structure: bool = True) -> StepJacobian:
    """`structure`: also return the sparsity patterns (SnAp reads them once)."""
    h, c = state
    H, B = cell.hidden_size, x.shape[0]
    phi, psi = ACTIVATIONS[cell.candidate_activation], ACTIVATIONS[cell.state_activation]
    i, f, g, o, c_new = cell._gates(x, h, c)
    sc = psi(c_new)
    h_new = o * sc
    di, df, dg, do, dpsi = i * (1 - i), f * (1 - f), phi.derivative(g), o * (1 - o), psi.derivative(sc)
    kappa = o * dpsi                                                                # (EL1)
    Cc = torch.cat([g * di, c * df, i * dg, torch.zeros_like(o)], 1)               # (EL2)
    Ch = kappa.repeat(1, 4) * Cc + torch.cat([torch.zeros_like(Cc[:, :3 * H]), sc * do], 1)  # (EL3)
    G = gate_jacobian(Ch, Cc)                                                      # (EL4)
    u = cell.weight_hh.view(4, H)
    dh_h = (Ch.view(B, 4, H) * u).sum(1)                                           # (EL5) ∂h_t/∂h_{t−1}
    dc_h = (Cc.view(B, 4, H) * u).sum(1)                                           # (EL5) ∂c_t/∂h_{t−1}
    D = torch.cat([diag_rows(dh_h, 2 * H, 0) + diag_rows(dc_h, 2 * H, H),          # (EL7) columns h_{t−1}
                   diag_rows(kappa * f, 2 * H, 0) + diag_rows(f, 2 * H, H)], 2)    # (EL6) columns c_{t−1}
    X = G @ cell.weight_ih                                                          # (EL8)
    blocks = [Outer(G, x), Full(G * h.repeat(1, 4).unsqueeze(1))]                   # (EL9)
    if cell.bias_ih is not None:
        blocks += [Full(G), Full(G)]                                                # (EL9)
    jac = StepJacobian(h_new, (h_new, c_new), D, X, blocks, slice(0, H))
    if structure:
        jac.block_patterns = [gate_pattern(H, x.device)] * len(blocks)
        unit = diag_pattern(2 * H, H, 0, x.device) | diag_pattern(2 * H, H, H, x.device)
        jac.D_pattern = torch.cat([unit, unit], 1)
    return jac
