"""A sequence classifier: one label for a whole sequence.

    tokens → embedding (or 1-of-N) → recurrent encoder → pooling → linear head → class logits

The pooling (rnnlab/layers/pooling.py) reads one vector per sequence from the encoder's top-layer
outputs over each sequence's true length: "last" (each direction's final state), "mean" (over the
real steps) or "attention" (a learned weighted mean).

Padded steps (t ≥ lengths[b]) neither change the states nor get gradient: the recurrent layers
skip them and the pooling ignores them, so a sequence gets the same logits alone as in a padded
batch. Dropout (training only) acts on the embedded input, between layers (the encoder's) and on
the pooled vector — the non-recurrent connections, as in the language model.

`SequenceClassifier(embedding, encoder, pooling, head)` takes the modules;
`SequenceClassifier.build(vocab_size, num_classes, cell="lstm", ...)` makes them from names and
sizes and is what `config()` describes: `SequenceClassifier.from_config(config)` rebuilds it.
"""
from __future__ import annotations

from typing import Sequence

from torch import Tensor, nn
from torch.nn import functional as F

from rnnlab.errors import ConfigError
from rnnlab.layers.described import Described, described
from rnnlab.layers.encoder import build_encoder, cell_label
from rnnlab.layers.pooling import POOLS, Pooling, make_pooling
from rnnlab.layers.sequence import OneHot, check_tokens, length_mask


class SequenceClassifier(Described, nn.Module):
    """tokens (T, B) ids and lengths (B,) → class logits (B, num_classes).

    Modules: `embedding` (nn.Embedding or `OneHot`, width = the encoder's input size), `encoder`
    ((T, B, D) → (T, B, W), e.g. `build_encoder`), `pooling` ((T, B, W), lengths → (B, W)) and
    `out` (the head, (B, W) → (B, num_classes), an nn.Linear).
    """

    renamed_keys = {"layers.": "encoder.layers."}  # rnnlab 0.1 kept the encoder's layers on the model itself

    def __init__(self, embedding: nn.Embedding | OneHot, encoder: nn.Module, pooling: Pooling, head: nn.Linear, *,
                 dropout: float = 0.0):
        """`dropout` acts on the embedded input and the pooled vector (the encoder has its own)."""
        super().__init__()
        if head.out_features < 2:
            raise ConfigError(f"a classifier needs at least 2 classes, got {head.out_features}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {dropout}")
        if embedding.embedding_dim != encoder.input_size:
            raise ConfigError(f"the embedding is {embedding.embedding_dim} wide but the encoder reads {encoder.input_size}")
        if head.in_features != encoder.output_size:
            raise ConfigError(f"the head reads {head.in_features} features but the encoder gives {encoder.output_size}")
        self.vocab_size, self.num_classes, self.dropout = embedding.num_embeddings, head.out_features, dropout
        self.embedding, self.encoder, self.pooling, self.out = embedding, encoder, pooling, head
        self.register_load_state_dict_pre_hook(self._upgrade_on_load)

    @classmethod
    def build(cls, vocab_size: int, num_classes: int, *, cell: str = "lstm", hidden_size: int = 64,
              num_layers: int = 1, bidirectional: bool = False, embedding_size: int = 32, dropout: float = 0.0,
              pool: str = "last") -> "SequenceClassifier":
        """The model from a cell name and sizes. `embedding_size` 0 → 1-of-N input (no embedding
        matrix). `pool`: "last", "mean" or "attention" (`attention`'s MLP is as wide as the encoder's
        output). Dropout also acts between the layers."""
        if vocab_size < 1:
            raise ConfigError(f"vocab_size must be >= 1, got {vocab_size}")
        if num_classes < 2:
            raise ConfigError(f"a classifier needs at least 2 classes, got {num_classes}")
        if hidden_size < 1 or num_layers < 1:
            raise ConfigError(f"hidden_size and num_layers must be >= 1, got {hidden_size} and {num_layers}")
        if embedding_size < 0:
            raise ConfigError(f"embedding_size must be >= 0 (0 = 1-of-N input), got {embedding_size}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {dropout}")
        if pool not in POOLS:
            raise ConfigError(f"pool must be one of {', '.join(POOLS)}, got {pool!r}")
        embedding = nn.Embedding(vocab_size, embedding_size) if embedding_size else OneHot(vocab_size)
        encoder = build_encoder(cell, embedding.embedding_dim, hidden_size, num_layers,
                                bidirectional=bidirectional, dropout=dropout)
        pooling = make_pooling(pool, encoder)
        model = cls(embedding, encoder, pooling, nn.Linear(encoder.output_size, num_classes), dropout=dropout)
        return described(model, dict(vocab_size=vocab_size, num_classes=num_classes, cell=cell, hidden_size=hidden_size,
                                     num_layers=num_layers, bidirectional=bidirectional, embedding_size=embedding_size,
                                     dropout=dropout, pool=pool))

    def forward(self, tokens: Tensor, lengths: Tensor | Sequence[int] | None = None) -> Tensor:
        """tokens (T, B) integer ids, padded after each sequence's `lengths[b]` real steps (None: all
        T are real) → class logits (B, num_classes). Padding may hold any id."""
        lengths = check_tokens(tokens, self.vocab_size, "SequenceClassifier", lengths)
        tokens = tokens.long().masked_fill(~length_mask(lengths, tokens.shape[0]), 0)  # padding is never read
        h = F.dropout(self.embedding(tokens), self.dropout, self.training)  # (T, B, D)
        h, _ = self.encoder(h, None, lengths)  # (T, B, W), zeros at padded steps
        return self.out(F.dropout(self.pooling(h, lengths), self.dropout, self.training))

    def extra_repr(self) -> str:
        return (f"vocab_size={self.vocab_size}, num_classes={self.num_classes}, cell={cell_label(self.encoder)}, "
                f"dropout={self.dropout}")
