"""UORO (Tallec & Ollivier 2018, "Unbiased online recurrent optimization"): a rank-one,
unbiased estimate J_t ≈ ũ_t ṽ_tᵀ, O(S + P) per row instead of O(S·P).

Per step, with ν a vector of independent random signs (S,):
    ∂L_t/∂θ ≈ (c_t D^{out}_t ũ_{t−1}) ṽ_{t−1} + c_t M̄^{out}_t                       (U1)
    ρ_0 = sqrt((‖ṽ_{t−1}‖ + ε) / (‖D_t ũ_{t−1}‖ + ε)),  ρ_1 = sqrt((‖νᵀM̄_t‖ + ε) / (‖ν‖ + ε))  (U2)
    ũ_t = ρ_0 D_t ũ_{t−1} + ρ_1 ν,   ṽ_t = ṽ_{t−1} / ρ_0 + νᵀM̄_t / ρ_1              (U3)
E[ũ_t ṽ_tᵀ] = J_t because E[ν νᵀ] = I and the cross terms have mean 0; ρ_0, ρ_1 balance the two
terms' norms (the variance-minimising choice of the paper). Each batch row is its own stream with
its own (ũ, ṽ). νᵀM̄ is a vector-Jacobian product: for an Outer block it is (νᵀG) ⊗ v, never the
(S, P) matrix. In a stack each layer keeps its own (ũ, ṽ) (see engine.py).
"""
from __future__ import annotations

import torch
from torch import Tensor

from rnnlab.train.rtrl.jacobian import StepJacobian

EPS = 1e-7


class UOROInfluence:
    exact = False

    def __init__(self, generator: torch.Generator | None = None):
        self.generator = generator

    def init(self, batch: int, S: int, device, dtype):
        return None  # (ũ, ṽ) are made at the first step, when P is known

    def step(self, jac: StepJacobian, uv, mask: Tensor | None, below=None):
        B, R, S = jac.D.shape
        if uv is None:
            P = sum(b.base * b.width for b in jac.blocks)
            uv = (jac.D.new_zeros(B, S), jac.D.new_zeros(B, P))
        u, v = uv
        Du = torch.bmm(jac.D, u.unsqueeze(2)).squeeze(2)                       # D_t ũ_{t−1}, (B, R)
        nu = torch.randint(0, 2, (B, S), generator=self.generator, device=u.device).to(u.dtype) * 2 - 1
        nu_R = torch.cat([nu, nu.new_zeros(B, R - S)], 1)
        Mnu = torch.cat([b.vjp(nu_R) for b in jac.blocks], 1)                   # νᵀ M̄_t
        rho0 = torch.sqrt((v.norm(dim=1) + EPS) / (Du[:, :S].norm(dim=1) + EPS)).unsqueeze(1)  # (U2)
        rho1 = torch.sqrt((Mnu.norm(dim=1) + EPS) / (nu.norm(dim=1) + EPS)).unsqueeze(1)
        u_new = rho0 * Du[:, :S] + rho1 * nu                                    # (U3)
        v_new = v / rho0 + Mnu / rho1
        if mask is not None:
            m = mask.view(-1, 1)
            u_new, v_new = torch.where(m, u_new, u), torch.where(m, v_new, v)
        return (u_new, v_new), (jac, Du[:, jac.out_rows], v, mask)

    def gradients(self, handle, c: Tensor, shapes: list[torch.Size]) -> list[Tensor]:
        jac, Du_out, v, mask = handle                                           # (U1)
        if mask is not None:
            c = torch.where(mask.view(-1, 1), c, torch.zeros((), dtype=c.dtype, device=c.device))
        B, R, _ = jac.D.shape
        c_R = c.new_zeros(B, R)
        c_R[:, jac.out_rows] = c
        flat = ((c * Du_out).sum(1, keepdim=True) * v).sum(0)
        flat = flat + torch.cat([b.vjp(c_R) for b in jac.blocks], 1).sum(0)
        return [g.view(s) for g, s in zip(flat.split([s.numel() for s in shapes]), shapes)]
