"""Hand-derived step Jacobians of the LSTM cell (peephole optional; no layer norm, no projection).

z_t = [h_t; c_t] (rows 0..H−1 and H..2H−1). With a = W_ih x + W_hh h_{t−1} + b_ih + b_hh split into
a_i, a_f, a_g, a_o and the peepholes p_i = a_i + w_ci c_{t−1}, p_f = a_f + w_cf c_{t−1},
p_o = a_o + w_co c_t:
    i = σ(p_i), f = σ(p_f), g = φ(a_g), c_t = f c_{t−1} + i g, o = σ(p_o), h_t = o ψ(c_t)
Derivatives read through the outputs: i' = i(1−i), f' = f(1−f), g' = φ'(g), o' = o(1−o), ψ' = ψ'(ψ(c_t)).
    κ    = ∂h_t/∂c_t (total)   = o ψ' + ψ(c_t) o' w_co                           (L1)
    C^c  = ∂c_t/∂a_{i,f,g,o}   = [g i', c_{t−1} f', i g', 0]                      (L2)
    C^h  = ∂h_t/∂a_{i,f,g,o}   = κ C^c + [0, 0, 0, ψ(c_t) o']                     (L3)
    G    = ∂z_t/∂a: unit k of each gate acts on rows k (C^h) and H + k (C^c) only  (L4)
    e    = ∂c_t/∂c_{t−1} (direct + peepholes) = f + g i' w_ci + c_{t−1} f' w_cf    (L5)
    D_t  = [G W_hh | [diag(κ e); diag(e)]]                                       (L6)
    X_t  = G W_ih                                                                 (L7)
    ∂z/∂W_ih = Outer(G, x), ∂z/∂W_hh = Outer(G, h_{t−1}), ∂z/∂b_ih = ∂z/∂b_hh = G  (L8)
    ∂c_t/∂w_ci = diag(g i' c_{t−1}), ∂c_t/∂w_cf = diag(c_{t−1} f' c_{t−1}),
      ∂h_t/∂w_c{i,f} = κ ∂c_t/∂w_c{i,f}, ∂h_t/∂w_co = diag(ψ(c_t) o' c_t), ∂c_t/∂w_co = 0   (L9)
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from rnnlab.cells.activations import ACTIVATIONS
from rnnlab.cells.lstm import LSTMCell
from rnnlab.train.rtrl.jacobian import Full, Outer, StepJacobian, diag_pattern, diag_rows


def gate_jacobian(Ch: Tensor, Cc: Tensor) -> Tensor:
    """(L4): G = ∂[h_t; c_t]/∂a (B, 2H, 4H) from C^h, C^c (B, 4H): unit k of gate q acts on rows k
    (C^h) and H + k (C^c) only (shared with the element-wise LSTM)."""
    B, H = Ch.shape[0], Ch.shape[1] // 4
    G = Ch.new_zeros(B, 2 * H, 4 * H)
    k = torch.arange(H, device=Ch.device)
    for q in range(4):
        G[:, k, q * H + k] = Ch[:, q * H:(q + 1) * H]
        G[:, H + k, q * H + k] = Cc[:, q * H:(q + 1) * H]
    return G


def gate_pattern(H: int, device=None) -> Tensor:
    """Where G can be nonzero (2H, 4H): rows k and H + k of unit k's gates, but the output gate
    does not reach c_t."""
    gp = torch.zeros(2 * H, 4 * H, dtype=torch.bool, device=device)
    k = torch.arange(H, device=device)
    for q in range(4):
        gp[k, q * H + k] = True
        if q < 3:
            gp[H + k, q * H + k] = True
    return gp


def lstm_supported(cell: LSTMCell) -> bool:
    return not cell.layer_norm and not cell.proj_size


def lstm_step(cell: LSTMCell, x: Tensor, state: tuple[Tensor, Tensor], structure: bool = True) -> StepJacobian:
    """`structure`: also return the sparsity patterns (SnAp reads them once)."""
    h, c = state
    H = cell.hidden_size
    phi, psi = ACTIVATIONS[cell.candidate_activation], ACTIVATIONS[cell.state_activation]
    pre = F.linear(x, cell.weight_ih) + F.linear(h, cell.weight_hh)
    if cell.bias_ih is not None:
        pre = pre + cell.bias_ih + cell.bias_hh
    pi, pf, pg, po = pre.chunk(4, 1)
    if cell.peephole:
        pi, pf = pi + cell.weight_ci * c, pf + cell.weight_cf * c
    i, f, g = torch.sigmoid(pi), torch.sigmoid(pf), phi(pg)
    c_new = f * c + i * g
    if cell.peephole:
        po = po + cell.weight_co * c_new
    o = torch.sigmoid(po)
    sc = psi(c_new)
    h_new = o * sc
    di, df, dg, do, dpsi = i * (1 - i), f * (1 - f), phi.derivative(g), o * (1 - o), psi.derivative(sc)
    kappa = o * dpsi + (sc * do * cell.weight_co if cell.peephole else 0)           # (L1)
    Cc = torch.cat([g * di, c * df, i * dg, torch.zeros_like(o)], 1)               # (L2)
    Ch = kappa.repeat(1, 4) * Cc + torch.cat([torch.zeros_like(Cc[:, :3 * H]), sc * do], 1)  # (L3)
    G = gate_jacobian(Ch, Cc)                                                      # (L4)
    e = f + (g * di * cell.weight_ci + c * df * cell.weight_cf if cell.peephole else 0)  # (L5)
    D = torch.cat([G @ cell.weight_hh, diag_rows(kappa * e, 2 * H, 0) + diag_rows(e, 2 * H, H)], 2)  # (L6)
    X = G @ cell.weight_ih                                                          # (L7)
    blocks = [Outer(G, x), Outer(G, h)]                                             # (L8)
    if cell.bias_ih is not None:
        blocks += [Full(G), Full(G)]
    if cell.peephole:                                                               # (L9)
        dci, dcf = g * di * c, c * df * c
        blocks += [Full(diag_rows(kappa * dci, 2 * H, 0) + diag_rows(dci, 2 * H, H)),
                   Full(diag_rows(kappa * dcf, 2 * H, 0) + diag_rows(dcf, 2 * H, H)),
                   Full(diag_rows(sc * do * c_new, 2 * H, 0))]
    jac = StepJacobian(h_new, (h_new, c_new), D, X, blocks, slice(0, H))
    if structure:
        gp = gate_pattern(H, x.device)
        both = diag_pattern(2 * H, H, 0, x.device) | diag_pattern(2 * H, H, H, x.device)
        jac.block_patterns = [gp, gp] + ([gp, gp] if cell.bias_ih is not None else [])
        if cell.peephole:
            jac.block_patterns += [both, both, diag_pattern(2 * H, H, 0, x.device)]
        jac.D_pattern = torch.cat([torch.ones(2 * H, H, dtype=torch.bool, device=x.device), both], 1)
    return jac
