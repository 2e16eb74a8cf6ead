"""The Neural Turing Machine's addressing (Graves et al. 2014, section 3.3), batched over the batch
and the heads: every function takes tensors shaped (B, heads, ...) and loops over neither.

    w_c = softmax(β · K(k, M_i))                      content weighting, K = cosine similarity (eq. 5, 6)
    w_g = g · w_c + (1 − g) · w_{t−1}                 interpolation (eq. 7)
    w̃(i) = Σ_o w_g(i − o) · s(o)   (mod N)           circular shift over offsets o = −k..k (eq. 8)
    w(i) = w̃(i)^γ / Σ_j w̃(j)^γ                       sharpening, γ ≥ 1 (eq. 9)

Numerical safety is by construction, because each of these has a known way to produce NaN:

- cosine against an all-zero row (the memory starts as zeros or a small constant): the norms are
  sqrt(|u|² + ε), so neither the value (0/0) nor the gradient of the norm at 0 (x/|x|) is NaN;
- sharpening: w^γ with w = 0 has ∂/∂γ = w^γ · log w = 0 · (−∞). It is computed as
  softmax(γ · log(w̃ + ε)) — the same normalised power, finite for every w̃ ≥ 0 and γ — and the
  heads produce γ = 1 + softplus(·) ≥ 1 (an exponent below 1 flattens instead of sharpening, and
  below 0 inverts the weighting);
- unbounded controller outputs: the heads clip their pre-activations (see heads.py).
"""
from __future__ import annotations

import torch
from torch import Tensor

EPS = 1e-8


def cosine_similarity(keys: Tensor, memory: Tensor, eps: float = EPS) -> Tensor:
    """K(k, M_i) for each head and row: keys (B, H, M), memory (B, N, M) → (B, H, N), in [−1, 1]
    and finite with gradients for zero keys and zero rows (eq. 6 with ε-padded norms)."""
    dots = torch.einsum("bhm,bnm->bhn", keys, memory)
    key_norm = torch.sqrt((keys * keys).sum(-1) + eps)          # (B, H)   |k| made safe at 0
    row_norm = torch.sqrt((memory * memory).sum(-1) + eps)      # (B, N)   |M_i| made safe at 0
    return dots / (key_norm.unsqueeze(-1) * row_norm.unsqueeze(1))


def content_weights(keys: Tensor, strength: Tensor, memory: Tensor) -> Tensor:
    """w_c = softmax_i(β · K(k, M_i)) (eq. 5): keys (B, H, M), strength β (B, H) ≥ 0 → (B, H, N)."""
    return torch.softmax(strength.unsqueeze(-1) * cosine_similarity(keys, memory), dim=-1)


def interpolate(content: Tensor, previous: Tensor, gate: Tensor) -> Tensor:
    """w_g = g · w_c + (1 − g) · w_{t−1} (eq. 7); gate g (B, H) in [0, 1]."""
    g = gate.unsqueeze(-1)
    return g * content + (1 - g) * previous


def shift_offsets(shift_range: int, device=None) -> Tensor:
    """The offsets −k..k a shift distribution of 2k + 1 entries is over."""
    return torch.arange(-shift_range, shift_range + 1, device=device)


def circular_shift(weights: Tensor, shift: Tensor) -> Tensor:
    """w̃(i) = Σ_o w(i − o) s(o), indices mod N (eq. 8): weights (B, H, N), shift (B, H, 2k + 1)
    over offsets −k..k → (B, H, N). One gather builds every shifted copy (B, H, 2k + 1, N) at once:
    no loop over the batch, the heads or the offsets."""
    n, width = weights.shape[-1], shift.shape[-1]
    if width % 2 != 1:
        raise ValueError(f"circular_shift: a shift distribution has 2k + 1 entries, got {width}")
    offsets = shift_offsets(width // 2, weights.device)
    index = (torch.arange(n, device=weights.device).unsqueeze(0) - offsets.unsqueeze(1)) % n  # (S, N): i − o
    shifted = weights[..., index]                                                              # (B, H, S, N)
    return torch.einsum("bhs,bhsn->bhn", shift, shifted)


def sharpen(weights: Tensor, gamma: Tensor, eps: float = EPS) -> Tensor:
    """w̃^γ / Σ w̃^γ (eq. 9) as softmax(γ · log(w̃ + ε)): weights (B, H, N) ≥ 0, gamma (B, H) → (B, H, N),
    a distribution with finite gradients even where w̃ = 0 (see the module docstring)."""
    return torch.softmax(gamma.unsqueeze(-1) * torch.log(weights + eps), dim=-1)


def address(keys: Tensor, strength: Tensor, gate: Tensor, shift: Tensor, gamma: Tensor, previous: Tensor,
            memory: Tensor) -> Tensor:
    """The whole addressing pipeline (eq. 5–9): content → interpolation → shift → sharpening."""
    w = interpolate(content_weights(keys, strength, memory), previous, gate)
    return sharpen(circular_shift(w, shift), gamma)
