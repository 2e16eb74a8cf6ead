"""The NTM's addressing (eq. 5–9, addressing.py) as one autograd node with a hand-derived backward:
the composite `address` records ~25 autograd nodes per call (cosine, softmax, interpolation, gather,
einsum, log, softmax ...); this records one, and its backward is ~20 tensor ops. Same values as
`addressing.address` (tests: to 1e-10 in float64, gradcheck).

Forward (shapes (B, H, ·); k keys, β strength, g gate, s shift over offsets −K..K, γ sharpening,
w₀ the previous weighting, M the memory (B, N, W)):

    |k| = √(Σ k² + ε),  |M_i| = √(Σ M_i² + ε)
    C_i = k·M_i / (|k| |M_i|)                     cosine (eq. 6)
    c = softmax(β C)                              content weighting (eq. 5)
    v = g c + (1 − g) w₀                          interpolation (eq. 7)
    u_i = Σ_o s_o v_{i−o}                         circular shift (eq. 8)
    ℓ = log(u + ε),  w = softmax(γ ℓ)             sharpening (eq. 9)

Backward (ḡ for ∂L/∂·; "Σ_i" over memory rows):

    ȳ = w ∘ (w̄ − Σ_i w̄_i w_i)                     through the softmax, y = γ ℓ
    γ̄ = Σ_i ȳ_i ℓ_i,   ū = γ ȳ / (u + ε)
    s̄_o = Σ_i ū_i v_{i−o},   v̄_j = Σ_o s_o ū_{j+o}  (the shift's transpose: a correlation)
    ḡ = Σ_i v̄_i (c_i − w₀_i),   w̄₀ = (1 − g) v̄,   c̄ = g v̄
    z̄ = c ∘ (c̄ − Σ_i c̄_i c_i)                     through the softmax, z = β C
    β̄ = Σ_i z̄_i C_i,   C̄ = β z̄
    d̄_i = C̄_i / (|k| |M_i|)                       d_i = k·M_i
    k̄ = Σ_i d̄_i M_i − (Σ_i C̄_i C_i) k / |k|²
    M̄_i = Σ_h d̄_{h,i} k_h − (Σ_h C̄_{h,i} C_{h,i}) M_i / |M_i|²

The shift runs on a circularly padded weighting read as windows (`unfold`): window i holds
v_{i−K} … v_{i+K}, so u = windows · flip(s), s̄ = flip(windows · ū) and v̄ = windows(ū) · s.
"""
from __future__ import annotations

import torch
from torch import Tensor

from rnnlab.memory.addressing import EPS


def _windows(v: Tensor, k: int) -> Tensor:
    """(B, H, N) → (B, H, N, 2k + 1): window i = v_{i−k}, …, v_{i+k}, indices mod N."""
    if k == 0:
        return v.unsqueeze(-1)
    return torch.cat([v[..., -k:], v, v[..., :k]], dim=-1).unfold(-1, 2 * k + 1, 1)


class AddressFunction(torch.autograd.Function):
    """w = address(k, β, g, s, γ, w₀, M) with the backward of the module docstring."""

    @staticmethod
    def forward(ctx, keys, strength, gate, shift, gamma, previous, memory):
        k = shift.shape[-1] // 2
        key_norm = torch.sqrt((keys * keys).sum(-1) + EPS)                       # |k|   (B, H)
        row_norm = torch.sqrt((memory * memory).sum(-1) + EPS)                   # |M_i| (B, N)
        scale = key_norm.unsqueeze(-1) * row_norm.unsqueeze(1)                   # |k| |M_i| (B, H, N)
        cos = torch.matmul(keys, memory.transpose(1, 2)) / scale                # C (eq. 6)
        content = torch.softmax(strength.unsqueeze(-1) * cos, dim=-1)            # c (eq. 5)
        g = gate.unsqueeze(-1)
        mixed = g * content + (1 - g) * previous                                 # v (eq. 7)
        windows = _windows(mixed, k)                                             # (B, H, N, 2k+1)
        shifted = torch.matmul(windows, shift.flip(-1).unsqueeze(-1)).squeeze(-1)  # u (eq. 8)
        logs = torch.log(shifted + EPS)                                          # ℓ
        out = torch.softmax(gamma.unsqueeze(-1) * logs, dim=-1)                  # w (eq. 9)
        ctx.save_for_backward(keys, strength, gate, shift, gamma, previous, memory, key_norm, row_norm, scale, cos,
                              content, windows, shifted, logs, out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (keys, strength, gate, shift, gamma, previous, memory, key_norm, row_norm, scale, cos, content, windows,
         shifted, logs, out) = ctx.saved_tensors
        k = shift.shape[-1] // 2
        d_y = out * (grad_out - (grad_out * out).sum(-1, keepdim=True))          # ȳ = w ∘ (w̄ − Σ w̄ w)
        d_gamma = (d_y * logs).sum(-1)                                           # γ̄ = Σ ȳ ℓ
        d_u = gamma.unsqueeze(-1) * d_y / (shifted + EPS)                        # ū = γ ȳ / (u + ε)
        d_shift = torch.matmul(windows.transpose(-1, -2), d_u.unsqueeze(-1)).squeeze(-1).flip(-1)  # s̄_o = Σ ū_i v_{i−o}
        d_mixed = torch.matmul(_windows(d_u, k), shift.unsqueeze(-1)).squeeze(-1)  # v̄_j = Σ_o s_o ū_{j+o}
        g = gate.unsqueeze(-1)
        d_gate = (d_mixed * (content - previous)).sum(-1)                        # ḡ = Σ v̄ (c − w₀)
        d_previous = (1 - g) * d_mixed                                           # w̄₀ = (1 − g) v̄
        d_content = g * d_mixed                                                  # c̄ = g v̄
        d_z = content * (d_content - (d_content * content).sum(-1, keepdim=True))  # z̄ = c ∘ (c̄ − Σ c̄ c)
        d_strength = (d_z * cos).sum(-1)                                         # β̄ = Σ z̄ C
        d_cos = strength.unsqueeze(-1) * d_z                                     # C̄ = β z̄
        d_dot = d_cos / scale                                                    # d̄ = C̄ / (|k| |M_i|)
        cc = d_cos * cos                                                         # C̄ ∘ C
        d_keys = (torch.matmul(d_dot, memory)                                    # k̄ = Σ_i d̄_i M_i
                  - cc.sum(-1, keepdim=True) * keys / (key_norm * key_norm).unsqueeze(-1))  # − (Σ C̄C) k / |k|²
        d_memory = (torch.matmul(d_dot.transpose(1, 2), keys)                    # M̄_i = Σ_h d̄_hi k_h
                    - cc.sum(1).unsqueeze(-1) * memory / (row_norm * row_norm).unsqueeze(-1))  # − (Σ_h C̄C) M_i / |M_i|²
        return d_keys, d_strength, d_gate, d_shift, d_gamma, d_previous, d_memory


def address_fused(keys: Tensor, strength: Tensor, gate: Tensor, shift: Tensor, gamma: Tensor, previous: Tensor,
                  memory: Tensor) -> Tensor:
    """`addressing.address` as one autograd node (same arguments, same result)."""
    return AddressFunction.apply(keys, strength, gate, shift, gamma, previous, memory)
