"""A recurrent language model: tokens → embedding (or 1-of-N) → recurrent encoder → softmax.

Dropout is applied to the non-recurrent connections only — the embedding output, between layers
(the encoder's own dropout) and before the softmax — as in Zaremba et al. (2014); the recurrent
connections are left intact.

`LanguageModel(embedding, encoder, decoder)` takes the modules; `LanguageModel.build(vocab_size,
cell="lstm", ...)` makes them from a cell name and sizes and is what `config()` describes, so
`LanguageModel.from_config(config)` rebuilds the same module (checkpoints store the config next to
the weights).
"""
from __future__ import annotations

from torch import Tensor, nn
from torch.nn import functional as F

from rnnlab.cells._state import State
from rnnlab.errors import ConfigError
from rnnlab.layers.described import Described, described
from rnnlab.layers.encoder import build_encoder, cell_label
from rnnlab.layers.sequence import OneHot, check_tokens


class LanguageModel(Described, nn.Module):
    """tokens (T, B) ids → next-token logits (T, B, V) and the encoder's final state.

    Modules: `embedding` (nn.Embedding or `OneHot`, V tokens, width = the encoder's input size),
    `rnn` (the encoder, e.g. from `build_encoder`; recordings name its layers "rnn.layers.K"),
    `decoder` (nn.Linear from the encoder's output width to V).
    """

    def __init__(self, embedding: nn.Embedding | OneHot, encoder: nn.Module, decoder: nn.Linear, *,
                 dropout: float = 0.0, init_range: float | None = None, tie_weights: bool = False):
        """`dropout` acts on the embedded input and before `decoder` (set the encoder's own for
        between layers). `init_range` r re-initialises every parameter from U(−r, r) (Zaremba et al.
        use 0.1); None keeps each module's default. `tie_weights` makes the decoder share the
        embedding matrix (Press & Wolf 2017): both must be V × the encoder's output width."""
        super().__init__()
        vocab_size = embedding.num_embeddings
        if vocab_size < 2:
            raise ConfigError(f"a language model needs a vocabulary of at least 2 tokens, got {vocab_size}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {dropout}")
        if embedding.embedding_dim != encoder.input_size:
            raise ConfigError(f"the embedding is {embedding.embedding_dim} wide but the encoder reads {encoder.input_size}")
        if (decoder.in_features, decoder.out_features) != (encoder.output_size, vocab_size):
            raise ConfigError(f"the decoder maps {decoder.in_features} → {decoder.out_features}; the model needs "
                              f"{encoder.output_size} → {vocab_size}")
        if tie_weights and not (isinstance(embedding, nn.Embedding) and embedding.embedding_dim == encoder.output_size):
            raise ConfigError(f"tie_weights needs embedding_size == hidden_size, got {embedding.embedding_dim} and "
                              f"{encoder.output_size}")
        self.vocab_size, self.dropout = vocab_size, dropout
        self.embedding, self.rnn, self.decoder = embedding, encoder, decoder
        if init_range is not None:
            if not init_range > 0:
                raise ConfigError(f"init_range must be positive, got {init_range}")
            for p in self.parameters():
                nn.init.uniform_(p, -init_range, init_range)
        if tie_weights:
            self.decoder.weight = self.embedding.weight

    @classmethod
    def build(cls, vocab_size: int, *, cell: str = "lstm", hidden_size: int = 256, num_layers: int = 2,
              embedding_size: int | None = None, dropout: float = 0.0, init_range: float | None = None,
              tie_weights: bool = False) -> "LanguageModel":
        """The model from a cell name and sizes. `embedding_size` None → same as hidden_size; 0 → 1-of-N
        input (no embedding matrix). Dropout also acts between the layers."""
        if vocab_size < 2:
            raise ConfigError(f"a language model needs a vocabulary of at least 2 tokens, got {vocab_size}")
        if num_layers < 1 or hidden_size < 1:
            raise ConfigError(f"num_layers and hidden_size must be >= 1, got {num_layers} and {hidden_size}")
        embedding_size = hidden_size if embedding_size is None else embedding_size
        if embedding_size < 0:
            raise ConfigError(f"embedding_size must be >= 0 (0 = 1-of-N input), got {embedding_size}")
        if tie_weights and embedding_size != hidden_size:
            raise ConfigError(f"tie_weights needs embedding_size == hidden_size, got {embedding_size} and {hidden_size}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {dropout}")
        embedding = nn.Embedding(vocab_size, embedding_size) if embedding_size else OneHot(vocab_size)
        encoder = build_encoder(cell, embedding.embedding_dim, hidden_size, num_layers, dropout=dropout)
        model = cls(embedding, encoder, nn.Linear(hidden_size, vocab_size), dropout=dropout, init_range=init_range,
                    tie_weights=tie_weights)
        return described(model, dict(vocab_size=vocab_size, cell=cell, hidden_size=hidden_size, num_layers=num_layers,
                                     embedding_size=embedding_size, dropout=dropout, init_range=init_range,
                                     tie_weights=tie_weights))

    def init_state(self, batch: int, device=None, dtype=None) -> State:
        p = self.decoder.weight
        return self.rnn.init_state(batch, device or p.device, dtype or p.dtype)

    def embed(self, tokens: Tensor) -> Tensor:
        """tokens (T, B) → input vectors (T, B, embedding width); DataError for bad ids."""
        check_tokens(tokens, self.vocab_size, "LanguageModel")
        return self.embedding(tokens)

    def forward(self, tokens: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """tokens (T, B) → next-token logits (T, B, V) and the final state (pass it back to continue)."""
        x = F.dropout(self.embed(tokens), self.dropout, self.training)
        h, state = self.rnn(x, state)
        return self.decoder(F.dropout(h, self.dropout, self.training)), state

    def extra_repr(self) -> str:
        return f"vocab_size={self.vocab_size}, cell={cell_label(self.rnn)}, dropout={self.dropout}"
