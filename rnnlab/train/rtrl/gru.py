"""Hand-derived step Jacobians of the GRU cell, both variants (no layer norm).

h_t = n + z (h_{t−1} − n); r' = r(1−r), z' = z(1−z), n' = 1 − n²; γ = ∂h_t/∂(n's pre-activation) = (1 − z) n'.

reset_after (torch): wx = W_ih x + b_ih, uh = W_hh h_{t−1} + b_hh, n = tanh(wx_n + r uh_n):
    C^x = ∂h_t/∂wx = [γ uh_n r', (h_{t−1} − n) z', γ]                          (G1)
    C^u = ∂h_t/∂uh = [γ uh_n r', (h_{t−1} − n) z', γ r]                        (G2)
    D_t = diag(z) + diag(C^u) W_hh (per gate)                                    (G3)
    ∂h/∂W_ih = Outer(diag C^x, x), ∂h/∂W_hh = Outer(diag C^u, h), ∂h/∂b_ih = diag C^x, ∂h/∂b_hh = diag C^u  (G4)
Cho et al.: un = W_hn (r h_{t−1}) + b_hn, n = tanh(wx_n + un) — r now mixes units:
    A[k, j] = ∂h_{t,k}/∂(r's pre-activation)_j = γ_k W_hn[k, j] h_{t−1,j} r'_j    (G5)
    G^x = ∂h_t/∂wx = [A, diag((h_{t−1} − n) z'), diag γ]  (also ∂h/∂[uh_rz, un]) (G6)
    D_t = diag(z) + G^x_{r,z} W_hh[r,z] + diag(γ) W_hn diag(r)                   (G7)
    ∂h/∂W_hh = rows r,z: Outer(G^x_{r,z}, h_{t−1}); rows n: Outer(diag γ, r h_{t−1})  (G8)
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from rnnlab.cells.gru import GRUCell
from rnnlab.train.rtrl.jacobian import Full, Outer, Rows, StepJacobian, diag_rows


def gru_supported(cell: GRUCell) -> bool:
    return not cell.layer_norm


def _gate_diag(coeffs: list[Tensor]) -> Tensor:
    """(B, H, len·H): each (B, H) coefficient on the diagonal of its gate's columns."""
    H = coeffs[0].shape[1]
    return torch.cat([diag_rows(v, H, 0) for v in coeffs], 2)


def gru_step(cell: GRUCell, x: Tensor, h: Tensor, structure: bool = True) -> StepJacobian:
    """`structure`: also return the sparsity patterns (SnAp reads them once)."""
    H = cell.hidden_size
    b_ih, b_hh = cell.bias_ih, cell.bias_hh
    wx = F.linear(x, cell.weight_ih, b_ih)
    if cell.reset_after:
        uh = F.linear(h, cell.weight_hh, b_hh)
        r, z = torch.sigmoid(wx[:, :2 * H] + uh[:, :2 * H]).chunk(2, 1)
        n = torch.tanh(wx[:, 2 * H:] + r * uh[:, 2 * H:])
        h_new = n + z * (h - n)
        dr, dz, dn = r * (1 - r), z * (1 - z), 1 - n * n
        gamma = (1 - z) * dn
        cr, cz = gamma * uh[:, 2 * H:] * dr, (h - n) * dz
        Gx = _gate_diag([cr, cz, gamma])                                    # (G1)
        Gu = _gate_diag([cr, cz, gamma * r])                                # (G2)
        D = diag_rows(z, H, 0) + Gu @ cell.weight_hh                        # (G3)
        blocks = [Outer(Gx, x), Outer(Gu, h)]                               # (G4)
        if b_ih is not None:
            blocks += [Full(Gx), Full(Gu)]
    else:
        W_rz, W_hn = cell.weight_hh[:2 * H], cell.weight_hh[2 * H:]
        uh = F.linear(h, W_rz, None if b_hh is None else b_hh[:2 * H])
        r, z = torch.sigmoid(wx[:, :2 * H] + uh).chunk(2, 1)
        rh = r * h
        un = F.linear(rh, W_hn, None if b_hh is None else b_hh[2 * H:])
        n = torch.tanh(wx[:, 2 * H:] + un)
        h_new = n + z * (h - n)
        dr, dz, dn = r * (1 - r), z * (1 - z), 1 - n * n
        gamma = (1 - z) * dn
        A = gamma.unsqueeze(2) * W_hn * (h * dr).unsqueeze(1)              # (G5)
        Grz = torch.cat([A, diag_rows((h - n) * dz, H, 0)], 2)
        Gx = torch.cat([Grz, diag_rows(gamma, H, 0)], 2)                    # (G6)
        D = diag_rows(z, H, 0) + Grz @ W_rz + gamma.unsqueeze(2) * W_hn * r.unsqueeze(1)  # (G7)
        blocks = [Outer(Gx, x), Rows([Outer(Grz, h), Outer(diag_rows(gamma, H, 0), rh)])]  # (G8)
        if b_ih is not None:
            blocks += [Full(Gx), Full(Gx)]
    X = Gx @ cell.weight_ih
    jac = StepJacobian(h_new, h_new, D, X, blocks, slice(0, H))
    if structure:  # the r gate mixes units in Cho's variant (G5)
        eye = torch.eye(H, dtype=torch.bool, device=x.device)
        ones = torch.ones(H, H, dtype=torch.bool, device=x.device)
        jac.block_patterns = [torch.cat([eye if cell.reset_after else ones, eye, eye], 1)] * len(blocks)
        jac.D_pattern = ones
    return jac
