"""A sequence classifier: one label for a whole sequence.

    tokens → embedding (or 1-of-N) → (bi)directional stack of recurrent layers → pooled → linear → class logits

Any named cell (`rnnlab.cells.registry`) can be the recurrence. The sequence is read from the top
layer's outputs over each sequence's true length:

- `pool="last"`: the output at the last real step — the summary a left-to-right RNN has built of
  everything it read. Bidirectional: the forward half there, concatenated with the backward half
  at step 0, i.e. each direction's final state.
- `pool="mean"`: the mean over real steps, which gives every step a short path to the loss (the
  gradient does not have to travel back from the end).

Padded steps (t ≥ lengths[b]) neither change the states nor get gradient: the recurrent layers
skip them and the pooling ignores them, so a sequence gets the same logits alone as in a padded
batch. Dropout (training only) acts on the embedded input, between layers and on the pooled
vector — the non-recurrent connections, as in the language model.

Like `LanguageModel`, the model is fully described by `config()` (plain JSON), which checkpoints
store next to the weights: `SequenceClassifier.from_config(config)` rebuilds the same module.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnlab.cells.registry import make_cell
from rnnlab.errors import ConfigError, DataError
from rnnlab.layers.bidirectional import Bidirectional
from rnnlab.layers.recurrent import Recurrent
from rnnlab.layers.sequence import length_mask

POOLS = ("last", "mean")


class SequenceClassifier(nn.Module):
    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        *,
        cell: str = "lstm",
        hidden_size: int = 64,
        num_layers: int = 1,
        bidirectional: bool = False,
        embedding_size: int = 32,
        dropout: float = 0.0,
        pool: str = "last",
    ):
        """`embedding_size` 0 → 1-of-N input (no embedding matrix). `pool`: "last" or "mean"."""
        super().__init__()
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
        self._config = dict(vocab_size=vocab_size, num_classes=num_classes, cell=cell, hidden_size=hidden_size,
                            num_layers=num_layers, bidirectional=bidirectional, embedding_size=embedding_size,
                            dropout=dropout, pool=pool)
        self.vocab_size, self.num_classes = vocab_size, num_classes
        self.cell_name, self.bidirectional, self.dropout, self.pool = cell, bidirectional, dropout, pool
        self.embedding = nn.Embedding(vocab_size, embedding_size) if embedding_size else None
        width = embedding_size or vocab_size
        layers = []
        for _ in range(num_layers):
            if bidirectional:
                layer = Bidirectional(Recurrent(make_cell(cell, width, hidden_size)),
                                      Recurrent(make_cell(cell, width, hidden_size), reverse=True))
            else:
                layer = Recurrent(make_cell(cell, width, hidden_size))
            layers.append(layer)
            width = layer.output_size
        self.layers = nn.ModuleList(layers)
        self.out = nn.Linear(width, num_classes)

    @classmethod
    def build(cls, *args, **kwargs) -> "SequenceClassifier":
        """The model from names and sizes (a cell name, hidden size, layers, ...): what recipes and
        `from_config` call. The constructor itself takes modules."""
        return cls(*args, **kwargs)

    def config(self) -> dict:
        return dict(self._config)

    @classmethod
    def from_config(cls, config: dict) -> "SequenceClassifier":
        try:
            return cls.build(**config)
        except TypeError as e:  # unknown or missing keys
            raise ConfigError(f"model config does not describe a SequenceClassifier ({e})") from None

    def forward(self, tokens: Tensor, lengths: Tensor | Sequence[int] | None = None) -> Tensor:
        """tokens (T, B) integer ids, padded after each sequence's `lengths[b]` real steps (None: all
        T are real) → class logits (B, num_classes). Padding may hold any id."""
        T, B = self._check_tokens(tokens)
        lengths = self._check_lengths(lengths, T, B, tokens.device)
        mask = length_mask(lengths, T)  # (T, B)
        real = tokens[mask]
        if int(real.min()) < 0 or int(real.max()) >= self.vocab_size:
            raise DataError(f"SequenceClassifier: token id out of range [0, {self.vocab_size}): "
                            f"min {int(real.min())}, max {int(real.max())}")
        tokens = tokens.long().masked_fill(~mask, 0)  # any id in the padding; it is never read
        if self.embedding is None:
            x = F.one_hot(tokens, self.vocab_size).to(self.out.weight.dtype)
        else:
            x = self.embedding(tokens)
        h = F.dropout(x, self.dropout, self.training)  # (T, B, D)
        for k, layer in enumerate(self.layers):
            if k:
                h = F.dropout(h, self.dropout, self.training)
            h, _ = layer(h, None, lengths)  # (T, B, width), zeros at padded steps
        return self.out(F.dropout(self._pool(h, lengths, mask), self.dropout, self.training))

    def _pool(self, h: Tensor, lengths: Tensor, mask: Tensor) -> Tensor:
        """(T, B, width) top-layer outputs → (B, width), over each sequence's real steps only."""
        if self.pool == "mean":
            return (h * mask.unsqueeze(-1)).sum(0) / lengths.unsqueeze(1).to(h.dtype)
        last = h[lengths - 1, torch.arange(h.shape[1], device=h.device)]  # (B, width): output at each last step
        if self.bidirectional:  # the backward direction ends at step 0
            half = self.layers[-1].forward_layer.output_size
            last = torch.cat([last[:, :half], h[0, :, half:]], dim=-1)
        return last

    def _check_tokens(self, tokens: Tensor) -> tuple[int, int]:
        if not isinstance(tokens, Tensor):
            raise DataError(f"SequenceClassifier: tokens must be a tensor of ids, got {type(tokens).__name__}")
        if tokens.dtype not in (torch.int64, torch.int32):
            raise DataError(f"SequenceClassifier: tokens must be integer ids (int64), got dtype {tokens.dtype}")
        if tokens.dim() != 2 or tokens.shape[0] == 0 or tokens.shape[1] == 0:
            raise DataError(f"SequenceClassifier: tokens must be (time, batch) with both >= 1, "
                            f"got shape {tuple(tokens.shape)}")
        return tokens.shape[0], tokens.shape[1]

    @staticmethod
    def _check_lengths(lengths, T: int, B: int, device) -> Tensor:
        if lengths is None:
            return torch.full((B,), T, dtype=torch.long, device=device)
        lengths = torch.as_tensor(lengths, device=device)
        if lengths.dim() != 1 or lengths.shape[0] != B:
            raise DataError(f"SequenceClassifier: lengths must be 1-D with one entry per sequence ({B}), "
                            f"got shape {tuple(lengths.shape)}")
        if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
            raise DataError(f"SequenceClassifier: lengths must be integers, got dtype {lengths.dtype}")
        if int(lengths.min()) < 1 or int(lengths.max()) > T:
            raise DataError(f"SequenceClassifier: every length must be in [1, {T}] (the time dimension), "
                            f"got min {int(lengths.min())}, max {int(lengths.max())}")
        return lengths.long()

    def extra_repr(self) -> str:
        return (f"vocab_size={self.vocab_size}, num_classes={self.num_classes}, cell={self.cell_name!r}, "
                f"bidirectional={self.bidirectional}, pool={self.pool!r}, dropout={self.dropout}, "
                f"input={'one-hot' if self.embedding is None else 'embedding'}")
