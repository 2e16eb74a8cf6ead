"""A spoken-digit (utterance) classifier: frames of audio features → one class.

    frames (T, B, F) → encoder (TDNN, or recurrent layers from build_encoder) → pooling over each
    utterance's real frames (mean, max, mean+std statistics, last, attention) → dropout → linear → logits

`UtteranceClassifier(encoder, pooling, head)` takes the modules; `UtteranceClassifier.build(
input_size, num_classes, encoder="tdnn" | a cell name, ...)` makes them from names and sizes and is
what `config()` describes. A TDNN encoder returns its output lengths (sub-sampling shortens the
utterance), a recurrent one keeps them; either way the pooling reads only real frames, so an
utterance gets the same logits alone as in a padded batch.
"""
from __future__ import annotations

from typing import Sequence

from torch import Tensor, nn
from torch.nn import functional as F

from rnnlab.errors import ConfigError
from rnnlab.layers.described import Described, described
from rnnlab.layers.encoder import build_encoder, cell_label
from rnnlab.layers.pooling import UTTERANCE_POOLS, Pooling, make_pooling
from rnnlab.layers.sequence import check_sequence, lengths_or_full
from rnnlab.layers.tdnn import TDNN

# the TDNN's per-layer offsets when none are given: Waibel's growing windows, dilated above layer 1
DEFAULT_CONTEXT = ((-2, -1, 0, 1, 2), (-2, 0, 2), (-3, 0, 3), (-4, 0, 4), (0,))


def default_context(num_layers: int) -> list[list[int]]:
    return [list(DEFAULT_CONTEXT[min(i, len(DEFAULT_CONTEXT) - 1)]) for i in range(num_layers)]


class UtteranceClassifier(Described, nn.Module):
    """frames (T, B, input_size) and lengths (B,) → logits (B, num_classes). Modules: `encoder`,
    `pooling`, `out` (nn.Linear); dropout on the pooled vector."""

    def __init__(self, encoder: nn.Module, pooling: Pooling, head: nn.Linear, *, dropout: float = 0.0):
        super().__init__()
        if head.out_features < 2:
            raise ConfigError(f"a classifier needs at least 2 classes, got {head.out_features}")
        if head.in_features != pooling.output_width(encoder.output_size):
            raise ConfigError(f"the head reads {head.in_features} features but the pooling gives "
                              f"{pooling.output_width(encoder.output_size)}")
        self.encoder, self.pooling, self.out, self.dropout = encoder, pooling, head, dropout
        self.input_size, self.num_classes = encoder.input_size, head.out_features

    @classmethod
    def build(cls, input_size: int, num_classes: int, *, encoder: str = "tdnn", hidden_size: int = 64,
              num_layers: int = 3, bidirectional: bool = False, dropout: float = 0.0, pool: str = "stats",
              context: Sequence[Sequence[int]] | None = None, stride: int = 1) -> "UtteranceClassifier":
        """`encoder` "tdnn" (layers of `hidden_size` units with the offsets in `context`, one list per
        layer, default `default_context`; the top layer sub-samples by `stride`) or a cell name
        (`num_layers` recurrent layers, `bidirectional` allowed)."""
        if min(input_size, hidden_size, num_layers) < 1 or num_classes < 2:
            raise ConfigError(f"sizes must be >= 1 and classes >= 2, got input {input_size}, hidden {hidden_size}, "
                              f"layers {num_layers}, classes {num_classes}")
        if pool not in UTTERANCE_POOLS:
            raise ConfigError(f"pool must be one of {', '.join(UTTERANCE_POOLS)}, got {pool!r}")
        if encoder == "tdnn":
            if bidirectional:
                raise ConfigError("a TDNN already sees both sides of each frame; drop --bidirectional")
            if pool in ("last", "attention"):
                raise ConfigError(f"pool {pool!r} is for recurrent encoders; a TDNN pools with mean, max or stats")
            context = [list(c) for c in (context or default_context(num_layers))]
            if len(context) != num_layers:
                raise ConfigError(f"context gives offsets for {len(context)} layers, but num_layers is {num_layers}")
            strides = [1] * (num_layers - 1) + [stride]
            enc = TDNN.build(input_size, [(hidden_size, c, s) for c, s in zip(context, strides)], dropout=dropout)
        else:
            context = None
            enc = build_encoder(encoder, input_size, hidden_size, num_layers, bidirectional=bidirectional,
                                dropout=dropout)
        pooling = make_pooling(pool, enc)
        model = cls(enc, pooling, nn.Linear(pooling.output_width(enc.output_size), num_classes), dropout=dropout)
        return described(model, dict(input_size=input_size, num_classes=num_classes, encoder=encoder,
                                     hidden_size=hidden_size, num_layers=num_layers, bidirectional=bidirectional,
                                     dropout=dropout, pool=pool, context=context, stride=stride))

    def forward(self, frames: Tensor, lengths: Tensor | Sequence[int] | None = None) -> Tensor:
        check_sequence(frames, self.input_size, "UtteranceClassifier")
        lengths = lengths_or_full(lengths, frames.shape[0], frames.shape[1], frames.device, "UtteranceClassifier")
        h, second = self.encoder(frames, None, lengths)
        if isinstance(self.encoder, TDNN):
            lengths = second  # sub-sampled lengths
        return self.out(F.dropout(self.pooling(h, lengths), self.dropout, self.training))

    def extra_repr(self) -> str:
        kind = "TDNN" if isinstance(self.encoder, TDNN) else cell_label(self.encoder)
        return f"input_size={self.input_size}, num_classes={self.num_classes}, encoder={kind}"
