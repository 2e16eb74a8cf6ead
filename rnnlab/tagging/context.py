"""A context window of neighbouring words (Mesnil et al. 2015): word t is read as the features of
the words t−r … t+r side by side,

    x̃_t = [x_{t−r}; …; x_{t−1}; x_t; x_{t+1}; …; x_{t+r}]      ((2r + 1)·D wide)

with zeros for positions outside the sentence (before its first word or from its length on), so a
word's input never depends on the padding of the batch it came in. Mesnil et al. fed such
windows of word embeddings to Elman / Jordan RNNs; here the window wraps any word-features module
(`WordFeatures` or `CharWordFeatures`) and the tagger's encoder reads the wider vector.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnlab.errors import ConfigError
from rnnlab.layers.sequence import check_lengths, length_mask


class ContextWindow(nn.Module):
    """Word features (T, B, D) → windows (T, B, (2·radius + 1)·D), neighbours in sentence order.

    Delegates `encode`, `word_vocab` and `trigram_vocab` to the features it wraps (`inner`), so it
    stands wherever a `WordFeatures` does; `config()` is the inner config plus "context": radius.
    """

    def __init__(self, features: nn.Module, radius: int):
        super().__init__()
        if isinstance(radius, bool) or not isinstance(radius, int) or radius < 1:
            raise ConfigError(f"ContextWindow: radius must be an int >= 1, got {radius!r}")
        self.inner, self.radius = features, radius

    @property
    def output_size(self) -> int:
        return (2 * self.radius + 1) * self.inner.output_size

    word_vocab = property(lambda self: self.inner.word_vocab)
    trigram_vocab = property(lambda self: self.inner.trigram_vocab)

    def encode(self, sentences):
        return self.inner.encode(sentences)

    def forward(self, batch) -> Tensor:
        x = self.inner(batch)                                        # (T, B, D)
        T, B = x.shape[:2]
        lengths = check_lengths(batch.lengths, T, B, x.device, "ContextWindow")
        real = length_mask(lengths, T).unsqueeze(-1)                 # (T, B, 1)
        # selected, not multiplied: a padded step's features (even NaN) never reach a window
        x = torch.where(real, x, x.new_zeros(()))
        r = self.radius
        padded = F.pad(x, (0, 0, 0, 0, r, r))                        # (T + 2r, B, D): zeros before and after
        return torch.cat([padded[k:k + T] for k in range(2 * r + 1)], dim=-1)  # slice k holds x_{t+k−r}

    def config(self) -> dict:
        return {**self.inner.config(), "context": self.radius}

    def extra_repr(self) -> str:
        return f"radius={self.radius}, output_size={self.output_size}"
