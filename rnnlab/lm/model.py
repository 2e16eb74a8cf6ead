"""A recurrent language model: tokens → embedding (or 1-of-N) → stacked recurrent layers → softmax.

Any named cell (`rnnlab.cells.registry`) can be the recurrence. Dropout is applied to the
non-recurrent connections only — the embedding output, between layers and before the softmax —
as in Zaremba et al. (2014); the recurrent connections are left intact.

The model is fully described by `config()` (plain JSON), which is what checkpoints store next to
the weights: `LanguageModel.from_config(config)` rebuilds the same module.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnlab.cells._state import State
from rnnlab.cells.registry import make_cell
from rnnlab.errors import ConfigError, DataError
from rnnlab.layers.recurrent import Recurrent
from rnnlab.layers.stacked import Stacked


class LanguageModel(nn.Module):
    def __init__(
        self,
        vocab_size: int,
        *,
        cell: str = "lstm",
        hidden_size: int = 256,
        num_layers: int = 2,
        embedding_size: int | None = None,
        dropout: float = 0.0,
        init_range: float | None = None,
        tie_weights: bool = False,
    ):
        """`embedding_size` None → same as hidden_size; 0 → 1-of-N input (no embedding matrix).

        `init_range` r re-initialises every parameter from U(−r, r) (Zaremba et al. use 0.1);
        None keeps each module's default. `tie_weights` shares the embedding with the softmax
        weights (Press & Wolf 2017) and needs embedding_size == hidden_size.
        """
        super().__init__()
        if vocab_size < 2:
            raise ConfigError(f"a language model needs a vocabulary of at least 2 tokens, got {vocab_size}")
        if num_layers < 1 or hidden_size < 1:
            raise ConfigError(f"num_layers and hidden_size must be >= 1, got {num_layers} and {hidden_size}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {dropout}")
        embedding_size = hidden_size if embedding_size is None else embedding_size
        if embedding_size < 0:
            raise ConfigError(f"embedding_size must be >= 0 (0 = 1-of-N input), got {embedding_size}")
        if tie_weights and embedding_size != hidden_size:
            raise ConfigError(f"tie_weights needs embedding_size == hidden_size, got {embedding_size} and {hidden_size}")
        self._config = dict(vocab_size=vocab_size, cell=cell, hidden_size=hidden_size, num_layers=num_layers,
                            embedding_size=embedding_size, dropout=dropout, init_range=init_range,
                            tie_weights=tie_weights)
        self.vocab_size, self.dropout = vocab_size, dropout
        self.embedding = nn.Embedding(vocab_size, embedding_size) if embedding_size else None
        width = embedding_size or vocab_size
        layers = []
        for k in range(num_layers):
            layers.append(Recurrent(make_cell(cell, width if k == 0 else hidden_size, hidden_size)))
        self.rnn = Stacked(layers, dropout=dropout)
        self.decoder = nn.Linear(hidden_size, vocab_size)
        if init_range is not None:
            if not init_range > 0:
                raise ConfigError(f"init_range must be positive, got {init_range}")
            for p in self.parameters():
                nn.init.uniform_(p, -init_range, init_range)
        if tie_weights:
            self.decoder.weight = self.embedding.weight

    @classmethod
    def build(cls, *args, **kwargs) -> "LanguageModel":
        """The model from names and sizes (a cell name, hidden size, layers, ...): what recipes and
        `from_config` call. The constructor itself takes modules."""
        return cls(*args, **kwargs)

    def config(self) -> dict:
        return dict(self._config)

    @classmethod
    def from_config(cls, config: dict) -> "LanguageModel":
        try:
            return cls.build(**config)
        except TypeError as e:  # unknown or missing keys
            raise ConfigError(f"model config does not describe a LanguageModel ({e})") from None

    def init_state(self, batch: int, device=None, dtype=None) -> State:
        p = self.decoder.weight
        return self.rnn.init_state(batch, device or p.device, dtype or p.dtype)

    def embed(self, tokens: Tensor) -> Tensor:
        if tokens.dtype not in (torch.int64, torch.int32):
            raise DataError(f"LanguageModel: tokens must be integer ids, got dtype {tokens.dtype}")
        if tokens.dim() != 2:
            raise DataError(f"LanguageModel: tokens must be (T, B), got shape {tuple(tokens.shape)}")
        if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= self.vocab_size):
            raise DataError(
                f"LanguageModel: token id out of range [0, {self.vocab_size}): "
                f"min {int(tokens.min())}, max {int(tokens.max())}"
            )
        if self.embedding is None:
            return F.one_hot(tokens.long(), self.vocab_size).to(self.decoder.weight.dtype)
        return self.embedding(tokens)

    def forward(self, tokens: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """tokens (T, B) → next-token logits (T, B, V) and the final state (pass it back to continue)."""
        x = F.dropout(self.embed(tokens), self.dropout, self.training)
        h, state = self.rnn(x, state)
        return self.decoder(F.dropout(h, self.dropout, self.training)), state
