"""Character-level word encoders: each word's letters → one vector, concatenated with the word's
own features (Lample et al. 2016: a character BiLSTM; Ma & Hovy 2016: a character CNN).

    c_w = [→h_{|w|}; ←h_1]            "lstm": the final state of each direction of a BiLSTM
                                              over the word's character embeddings
    c_w = max_k tanh(conv(e)_k)       "cnn": a width-3 convolution over the character
                                              embeddings (zeros beyond the word), max over the
                                              word's positions
    x_t = [word features of w_t; c_{w_t}]

A word unseen in training still gets a vector from its letters (characters never seen map to the
character vocabulary's <unk>). `CharWordEncoder` (data side) adds to a `WordBatch` the letters of
the batch's *distinct* words, (L, U) with their lengths, and for each slot (t, b) the row of its
word: a frequent word ("to", "from") is encoded once per batch, not at every occurrence.
`CharWordFeatures` (module) runs the encoder over those U words and places the vectors back.
The BiLSTM is the package's `build_encoder` (cells + `Recurrent`, padded letters skipped); the CNN
is a masked `nn.Conv1d`. Either way a word's vector depends only on its own letters.
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import torch
from torch import Tensor, nn

from rnnlab.data.vocab import Vocabulary
from rnnlab.errors import ConfigError, DataError
from rnnlab.layers.encoder import build_encoder
from rnnlab.layers.pooling import make_pooling
from rnnlab.layers.sequence import check_lengths, length_mask

CHAR_ENCODERS = ("lstm", "cnn")
CNN_WIDTH = 3  # letters each convolution reads (Ma & Hovy 2016)


class CharBatch(NamedTuple):
    """A `WordBatch` (same first four fields) plus the letters of the batch's distinct words."""
    word_ids: Tensor                       # (T, B) int64
    lengths: Tensor                        # (B,) int64
    trigram_ids: Tensor | None = None
    trigram_offsets: Tensor | None = None
    char_ids: Tensor | None = None         # (L, U) int64: letters of the U distinct words, padded
    char_lengths: Tensor | None = None     # (U,) int64: letters per distinct word, each >= 1
    char_index: Tensor | None = None       # (T, B) int64: row of slot (t, b)'s word in [0, U); 0 when padded

    def to(self, device) -> "CharBatch":
        return CharBatch(*(None if t is None else t.to(device) for t in self))


def build_char_vocab(words: Sequence[str], unk: str = "<unk>") -> Vocabulary:
    """Every character of the (training) words, with an unknown character for the rest."""
    return Vocabulary.build((c for w in words for c in w), unk=unk)


class CharWordEncoder:
    """Sentences → `CharBatch`: a word encoder's batch (`WordEncoder`) plus letter ids."""

    def __init__(self, word_encoder, char_vocab: Vocabulary):
        if char_vocab.unk is None:
            raise ConfigError("the character vocabulary needs an unknown character (build_char_vocab adds one)")
        self.word_encoder, self.char_vocab = word_encoder, char_vocab

    word_vocab = property(lambda self: self.word_encoder.word_vocab)
    trigram_vocab = property(lambda self: self.word_encoder.trigram_vocab)

    def encode(self, sentences: Sequence[Sequence[str]]) -> CharBatch:
        batch = self.word_encoder.encode(sentences)  # checks the sentences
        T, B = batch.word_ids.shape
        rows: dict[str, int] = {}
        index = torch.zeros(T, B, dtype=torch.long)
        for b, s in enumerate(sentences):
            for t, w in enumerate(s):
                index[t, b] = rows.setdefault(w, len(rows))
        words = list(rows)
        L = max(map(len, words))
        ids = torch.full((len(words), L), self.char_vocab.unk_index, dtype=torch.long)
        for u, w in enumerate(words):
            ids[u, :len(w)] = self.char_vocab.encode(w)
        char_lengths = torch.tensor([len(w) for w in words], dtype=torch.long)
        return CharBatch(*batch, char_ids=ids.t().contiguous(), char_lengths=char_lengths, char_index=index)


class CharWordFeatures(nn.Module):
    """Word features (T, B, D) ⊕ a character encoding of each word (T, B, C) → (T, B, D + C).

    `inner`: the word-level features (`WordFeatures`); `kind`: "lstm" (C = 2·hidden_size) or
    "cnn" (C = hidden_size). `encode` returns a `CharBatch`; `config()` is the inner config
    plus "chars".
    """

    def __init__(self, features: nn.Module, char_vocab: Vocabulary, *, kind: str = "lstm",
                 embedding_size: int = 25, hidden_size: int = 25):
        super().__init__()
        if kind not in CHAR_ENCODERS:
            raise ConfigError(f"char encoder must be one of {', '.join(CHAR_ENCODERS)}, got {kind!r}")
        if embedding_size < 1 or hidden_size < 1:
            raise ConfigError(f"char embedding and hidden sizes must be >= 1, got {embedding_size} and {hidden_size}")
        self.inner, self.kind = features, kind
        self.char_vocab, self.num_chars = char_vocab, len(char_vocab)
        self.embedding_size, self.hidden_size = embedding_size, hidden_size
        self.char_embedding = nn.Embedding(self.num_chars, embedding_size)
        if kind == "lstm":
            self.char_encoder = build_encoder("lstm", embedding_size, hidden_size, 1, bidirectional=True)
            self.pooling = make_pooling("last", self.char_encoder)  # each direction's final state
            self.char_size = self.char_encoder.output_size
        else:
            self.char_encoder = nn.Conv1d(embedding_size, hidden_size, CNN_WIDTH, padding=CNN_WIDTH // 2)
            self.char_size = hidden_size
        self._encoder = CharWordEncoder(getattr(features, "encoder", features), char_vocab)

    @property
    def output_size(self) -> int:
        return self.inner.output_size + self.char_size

    word_vocab = property(lambda self: self.inner.word_vocab)
    trigram_vocab = property(lambda self: self.inner.trigram_vocab)

    def encode(self, sentences: Sequence[Sequence[str]]) -> CharBatch:
        return self._encoder.encode(sentences)

    def forward(self, batch) -> Tensor:
        x = self.inner(batch)  # (T, B, D)
        return torch.cat([x, self.char_vectors(batch).to(x.dtype)], dim=-1)

    def char_vectors(self, batch) -> Tensor:
        """(T, B, C): each slot's word encoding (padded slots: that of the batch's first word)."""
        ids, lengths, index = (getattr(batch, f, None) for f in ("char_ids", "char_lengths", "char_index"))
        if ids is None or lengths is None or index is None:
            raise DataError("CharWordFeatures: the batch has no letters (encode with the model's own encode(), "
                            "which gives a CharBatch)")
        T, B = batch.word_ids.shape
        if ids.dim() != 2 or tuple(index.shape) != (T, B):
            raise DataError(f"CharWordFeatures: char_ids must be (L, U) and char_index (T, B) = {(T, B)}, got "
                            f"{tuple(ids.shape)} and {tuple(index.shape)}")
        L, U = ids.shape
        lengths = check_lengths(lengths, L, U, ids.device, "CharWordFeatures")
        if int(index.min()) < 0 or int(index.max()) >= U:
            raise DataError(f"CharWordFeatures: char_index out of range [0, {U})")
        if int(ids.min()) < 0 or int(ids.max()) >= self.num_chars:
            raise DataError(f"CharWordFeatures: character id out of range [0, {self.num_chars})")
        e = self.char_embedding(ids)  # (L, U, E)
        if self.kind == "lstm":
            words = self.pooling(self.char_encoder(e, None, lengths)[0], lengths)  # (U, 2H)
        else:
            real = length_mask(lengths, L).unsqueeze(-1)                     # (L, U, 1)
            e = torch.where(real, e, e.new_zeros(()))                         # zeros beyond the word, as at its ends
            h = torch.tanh(self.char_encoder(e.permute(1, 2, 0)))            # (U, H, L)
            h = h.masked_fill(~real.permute(1, 2, 0), float("-inf"))          # max over the word's letters only
            words = h.amax(dim=-1)                                           # (U, H)
        return words[index]  # (T, B, C)

    def config(self) -> dict:
        return {**self.inner.config(), "chars": dict(kind=self.kind, embedding_size=self.embedding_size,
                                                     hidden_size=self.hidden_size, num_chars=self.num_chars)}

    @classmethod
    def from_config(cls, features: nn.Module, config: dict, char_vocab: Vocabulary | None) -> "CharWordFeatures":
        """Rebuild around `features` from config()["chars"] and the saved character vocabulary."""
        if char_vocab is None:
            raise ConfigError("the model reads characters but its character vocabulary (chars) is missing")
        config = dict(config)
        num_chars = config.pop("num_chars", None)
        try:
            out = cls(features, char_vocab, **config)
        except TypeError as e:
            raise ConfigError(f"config does not describe CharWordFeatures ({e})") from None
        if out.num_chars != num_chars:
            raise ConfigError(f"the character vocabulary has {out.num_chars} entries but the model was built "
                              f"for {num_chars}")
        return out

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}, chars={self.num_chars}, output_size={self.output_size}"
