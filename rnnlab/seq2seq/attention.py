"""Additive (content-based) soft attention, Bahdanau, Cho & Bengio (2015), eq. 6 and A.1.2:

    e_tj = vᵀ tanh(W s_{t−1} + U h_j + b)        score of source position j for target step t
    α_tj = exp(e_tj) / Σ_k exp(e_tk)             over the real (unpadded) positions only
    c_t  = Σ_j α_tj h_j                          the context fed to the decoder at step t

s_{t−1} is the decoder's previous hidden vector (the query), h_j the encoder's output at j.
U h_j does not depend on t, so `keys` computes it once per source and `forward` reuses it at
every decoding step. Padded positions get α = 0 exactly and pass back no gradient.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn


class AdditiveAttention(nn.Module):
    """W: query_size → attention_size (no bias), U: key_size → attention_size (with the bias b),
    v: attention_size → 1."""

    def __init__(self, query_size: int, key_size: int, attention_size: int):
        super().__init__()
        if min(query_size, key_size, attention_size) < 1:
            raise ValueError(f"AdditiveAttention: sizes must be positive, got query {query_size}, "
                             f"key {key_size}, attention {attention_size}")
        self.query_size, self.key_size, self.attention_size = query_size, key_size, attention_size
        self.query_proj = nn.Linear(query_size, attention_size, bias=False)  # W
        self.key_proj = nn.Linear(key_size, attention_size)                  # U, b
        self.score = nn.Linear(attention_size, 1, bias=False)               # v

    def keys(self, memory: Tensor) -> Tensor:
        """U h_j + b for every source position: memory (S, B, key_size) → (S, B, attention_size)."""
        return self.key_proj(memory)

    def forward(self, query: Tensor, memory: Tensor, mask: Tensor | None = None,
                keys: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """query (B, query_size), memory (S, B, key_size), mask (S, B) bool (True = real position)
        → context (B, key_size), weights (B, S) summing to 1 over the real positions.

        `keys` is `self.keys(memory)` if already computed (it is the same at every step)."""
        if keys is None:
            keys = self.keys(memory)
        e = self.score(torch.tanh(self.query_proj(query) + keys)).squeeze(-1)  # (S, B)
        if mask is not None:
            e = e.masked_fill(~mask, float("-inf"))  # exp(-inf) = 0: no weight, no gradient
        alpha = torch.softmax(e, dim=0)  # (S, B)
        context = (alpha.unsqueeze(-1) * memory).sum(0)  # (B, key_size)
        return context, alpha.T

    def extra_repr(self) -> str:
        return f"query={self.query_size}, key={self.key_size}, attention={self.attention_size}"
