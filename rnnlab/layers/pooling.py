"""One vector per sequence from a recurrent encoder's outputs: `pooled = pooling(outputs, lengths)`,
outputs (T, B, W) with each sequence's real steps first, lengths (B,) → pooled (B, W).

- "last": the output at each sequence's last real step — the summary a left-to-right RNN has
  built of all it read. For a bidirectional encoder (`directions` 2) the backward direction ends
  at step 0, so its columns are read there: each direction's final state.
- "mean": the mean over the real steps; every step gets a short path to the loss.
- "attention": a learned weighted mean (Yang et al. 2016, without the context vector's softmax
  temperature): e_t = vᵀ tanh(W h_t + b), α = softmax(e) over the real steps, pooled = Σ_t α_t h_t.
- "max" and "stats" (`UTTERANCE_POOLS`, for frame-level encoders such as a TDNN): the element-wise
  maximum, and [mean; standard deviation] over the real steps (2W wide: `output_width`).

Padded steps (t ≥ lengths[b]) never reach the result: every pooling *selects* real steps (gather,
`torch.where`), never multiplies by a mask, so even NaN at a padded step changes nothing and gets
no gradient; padded positions get attention weight exactly 0.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from rnnlab.errors import ConfigError
from rnnlab.layers.sequence import check_lengths, length_mask

POOLS = ("last", "mean", "attention")
UTTERANCE_POOLS = POOLS + ("max", "stats")  # also for frame-level encoders (TDNN): max, mean+std statistics


class Pooling(nn.Module):
    """Base of the poolings: (T, B, W) outputs and lengths (B,) in [1, T] → (B, W).
    `kind` is the name `make_pooling` takes."""

    kind: str

    def forward(self, outputs: Tensor, lengths: Tensor | Sequence[int]) -> Tensor:
        T, B = outputs.shape[:2]
        lengths = check_lengths(lengths, T, B, outputs.device, type(self).__name__)
        real = length_mask(lengths, T).unsqueeze(-1)  # (T, B, 1)
        return self.pool(torch.where(real, outputs, outputs.new_zeros(())), lengths, real)

    def pool(self, outputs: Tensor, lengths: Tensor, real: Tensor) -> Tensor:
        """outputs (T, B, W) with zeros at padded steps, lengths (B,), real (T, B, 1) bool → (B, W)."""
        raise NotImplementedError

    def output_width(self, width: int) -> int:
        """The pooled vector's width for outputs `width` wide (statistics pooling doubles it)."""
        return width


class LastPooling(Pooling):
    """The output at each sequence's last real step; columns from `split` on (a bidirectional
    encoder's backward half) are read at step 0 instead. split None: every column at the last step."""

    kind = "last"

    def __init__(self, split: int | None = None):
        super().__init__()
        self.split = split

    def pool(self, outputs: Tensor, lengths: Tensor, real: Tensor) -> Tensor:
        last = outputs[lengths - 1, torch.arange(outputs.shape[1], device=outputs.device)]  # (B, W)
        if self.split is None:
            return last
        return torch.cat([last[:, :self.split], outputs[0, :, self.split:]], dim=-1)

    def extra_repr(self) -> str:
        return "" if self.split is None else f"split={self.split}"


class MeanPooling(Pooling):
    """The mean of the outputs over each sequence's real steps."""

    kind = "mean"

    def pool(self, outputs: Tensor, lengths: Tensor, real: Tensor) -> Tensor:
        return outputs.sum(0) / lengths.unsqueeze(1).to(outputs.dtype)  # padded steps are zeros here


class AttentionPooling(Pooling):
    """Learned additive attention over the real steps: W (width → attention_size, with bias b) and
    v (attention_size → 1); `weights(outputs, lengths)` gives α (B, T)."""

    kind = "attention"

    def __init__(self, width: int, attention_size: int):
        super().__init__()
        if min(width, attention_size) < 1:
            raise ConfigError(f"AttentionPooling: sizes must be >= 1, got width {width}, attention {attention_size}")
        self.proj = nn.Linear(width, attention_size)           # W, b
        self.score = nn.Linear(attention_size, 1, bias=False)  # v

    def pool(self, outputs: Tensor, lengths: Tensor, real: Tensor) -> Tensor:
        alpha = self._alpha(outputs, real)  # (T, B)
        return (alpha.unsqueeze(-1) * outputs).sum(0)  # Σ_t α_t h_t; padded h are zeros and α is 0 there

    def _alpha(self, outputs: Tensor, real: Tensor) -> Tensor:
        e = self.score(torch.tanh(self.proj(outputs))).squeeze(-1)  # (T, B) scores e_t
        e = e.masked_fill(~real.squeeze(-1), float("-inf"))  # exp(-inf) = 0: padded steps get no weight
        return torch.softmax(e, dim=0)

    def weights(self, outputs: Tensor, lengths: Tensor | Sequence[int]) -> Tensor:
        """α (B, T): each sequence's attention weights, 0 at padded steps, summing to 1."""
        T, B = outputs.shape[:2]
        lengths = check_lengths(lengths, T, B, outputs.device, type(self).__name__)
        real = length_mask(lengths, T).unsqueeze(-1)
        return self._alpha(torch.where(real, outputs, outputs.new_zeros(())), real).T

    def extra_repr(self) -> str:
        return f"width={self.proj.in_features}, attention={self.proj.out_features}"


class MaxPooling(Pooling):
    """The element-wise maximum of the outputs over each sequence's real steps."""

    kind = "max"

    def pool(self, outputs: Tensor, lengths: Tensor, real: Tensor) -> Tensor:
        return torch.where(real, outputs, outputs.new_full((), float("-inf"))).amax(0)  # padding never wins


class StatsPooling(Pooling):
    """Statistics pooling (the x-vector / TDNN utterance summary): [mean; std] over the real steps,
    std = sqrt(var + eps) with the biased variance; (B, 2W)."""

    kind = "stats"

    def __init__(self, eps: float = 1e-5):
        super().__init__()
        self.eps = eps

    def pool(self, outputs: Tensor, lengths: Tensor, real: Tensor) -> Tensor:
        n = lengths.unsqueeze(1).to(outputs.dtype)
        mean = outputs.sum(0) / n  # padded steps are zeros here
        centred = torch.where(real, outputs - mean, outputs.new_zeros(()))
        return torch.cat([mean, torch.sqrt(centred.pow(2).sum(0) / n + self.eps)], dim=-1)

    def output_width(self, width: int) -> int:
        return 2 * width


def make_pooling(kind: str, encoder, *, attention_size: int | None = None) -> Pooling:
    """The pooling named `kind` ("last", "mean", "attention") for `encoder`'s outputs: "last" splits
    a bidirectional encoder's output at its `forward_size`; "attention" is `attention_size` wide
    (None: the encoder's output width)."""
    if kind == "last":
        return LastPooling(encoder.forward_size if getattr(encoder, "directions", 1) == 2 else None)
    if kind == "mean":
        return MeanPooling()
    if kind == "attention":
        return AttentionPooling(encoder.output_size, attention_size or encoder.output_size)
    if kind == "max":
        return MaxPooling()
    if kind == "stats":
        return StatsPooling()
    raise ConfigError(f"pool must be one of {', '.join(UTTERANCE_POOLS)}, got {kind!r}")
