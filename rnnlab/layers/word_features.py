"""`WordFeatures`: the input layer that turns a `WordBatch` (rnnlab.data.words) into one vector per
word — 1-of-N with an "other" dimension, letter-trigram counts, a learned embedding, or several
concatenated; see rnnlab/data/words.py for the encodings themselves.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnlab.data.vocab import Vocabulary
from rnnlab.data.words import WordBatch, WordEncoder
from rnnlab.errors import ConfigError, DataError


class WordFeatures(nn.Module):
    """Word ids (and trigram bags) → features `(T, B, output_size)`.

    The parts, concatenated in this order: 1-of-N (`one_hot`, width len(word_vocab)), trigram
    counts (`trigrams`, width len(trigram_vocab)), a learned embedding (`embedding_size` > 0).
    With `projection` > 0 the first two are replaced by one learned `projection`-wide vector
    equal to [one_hot; counts] @ W (see the module docstring).
    """

    def __init__(self, word_vocab: Vocabulary, trigram_vocab: Vocabulary | None = None, *, one_hot: bool = False,
                 trigrams: bool = False, embedding_size: int = 0, projection: int = 0):
        super().__init__()
        if trigrams and trigram_vocab is None:
            raise ConfigError("trigrams=True needs a trigram vocabulary (WordEncoder.build(..., trigrams=True))")
        if embedding_size < 0 or projection < 0:
            raise ConfigError(f"embedding_size and projection must be >= 0, got {embedding_size} and {projection}")
        if not (one_hot or trigrams or embedding_size):
            raise ConfigError("WordFeatures needs at least one of one_hot, trigrams or embedding_size > 0")
        if projection and not (one_hot or trigrams):
            raise ConfigError("projection applies to the one_hot and trigram parts; enable one of them")
        self.encoder = WordEncoder(word_vocab, trigram_vocab if trigrams else None)
        self.one_hot, self.trigrams = one_hot, trigrams
        self.embedding_size, self.projection = embedding_size, projection
        self.num_words = len(word_vocab)
        self.num_trigrams = len(trigram_vocab) if trigrams else 0
        self.embedding = nn.Embedding(self.num_words, embedding_size) if embedding_size else None
        # with a projection: W = [word_proj.weight; trigram_proj.weight], i.e. (N + K) × P
        self.word_proj = nn.Embedding(self.num_words, projection) if projection and one_hot else None
        self.trigram_proj = (nn.EmbeddingBag(self.num_trigrams, projection, mode="sum")
                             if projection and trigrams else None)
        if projection:  # like nn.Linear over the (N + K)-wide input: U(±1/√fan_in)
            bound = 1.0 / (self.num_words * one_hot + self.num_trigrams) ** 0.5
            for m in (self.word_proj, self.trigram_proj):
                if m is not None:
                    nn.init.uniform_(m.weight, -bound, bound)
        # carries dtype and device for the parameter-free parts (one-hot and count vectors)
        self.register_buffer("_like", torch.zeros(0), persistent=False)

    @property
    def output_size(self) -> int:
        sparse = self.projection or self.num_words * self.one_hot + self.num_trigrams  # 0 when neither is on
        return sparse + self.embedding_size

    @property
    def word_vocab(self) -> Vocabulary:
        return self.encoder.word_vocab

    @property
    def trigram_vocab(self) -> Vocabulary | None:
        return self.encoder.trigram_vocab

    def encode(self, sentences: Sequence[Sequence[str]]) -> WordBatch:
        return self.encoder.encode(sentences)

    def forward(self, batch: WordBatch) -> Tensor:
        ids = batch.word_ids
        if ids.dim() != 2 or ids.dtype != torch.long:
            raise DataError(f"WordFeatures: word_ids must be a (T, B) int64 tensor, got {tuple(ids.shape)} {ids.dtype}")
        T, B = ids.shape
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= self.num_words):
            raise DataError(f"WordFeatures: word id out of range [0, {self.num_words})")
        if self.trigrams and (batch.trigram_ids is None or batch.trigram_offsets is None):
            raise DataError("WordFeatures: this module uses trigrams but the batch has none "
                            "(encode with the module's own encode())")
        if self.trigrams and batch.trigram_offsets.shape != (T * B,):
            raise DataError(f"WordFeatures: expected {T * B} trigram bags (one per slot), "
                            f"got {tuple(batch.trigram_offsets.shape)}")
        parts = []
        if self.projection:
            sparse = 0
            if self.word_proj is not None:
                sparse = self.word_proj(ids)  # one_hot(ids) @ W_word
            if self.trigram_proj is not None:
                sparse = sparse + self.trigram_proj(batch.trigram_ids, batch.trigram_offsets).view(T, B, -1)
            parts.append(sparse)
        else:
            dtype = self._like.dtype
            if self.one_hot:
                parts.append(F.one_hot(ids, self.num_words).to(dtype))
            if self.trigrams:
                parts.append(self.trigram_counts(batch, dtype).view(T, B, -1))
        if self.embedding is not None:
            parts.append(self.embedding(ids))
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)

    def trigram_counts(self, batch: WordBatch, dtype=None) -> Tensor:
        """(T·B, K) count vectors of the batch's bags (the dense form of the trigram input)."""
        offsets, flat = batch.trigram_offsets, batch.trigram_ids
        slots = offsets.shape[0]
        sizes = torch.diff(offsets, append=offsets.new_tensor([flat.shape[0]]))
        slot = torch.repeat_interleave(torch.arange(slots, device=flat.device), sizes)
        counts = torch.zeros(slots, self.num_trigrams, dtype=dtype or self._like.dtype, device=flat.device)
        return counts.index_put_((slot, flat), counts.new_ones(flat.shape), accumulate=True)

    def config(self) -> dict:
        """The architecture without the vocabularies (those are saved beside it); see `from_config`."""
        return dict(one_hot=self.one_hot, trigrams=self.trigrams, embedding_size=self.embedding_size,
                    projection=self.projection, num_words=self.num_words, num_trigrams=self.num_trigrams)

    @classmethod
    def from_config(cls, config: dict, word_vocab: Vocabulary, trigram_vocab: Vocabulary | None = None) -> "WordFeatures":
        """Rebuild from `config()` and the saved vocabularies, checking that their sizes still match."""
        config = dict(config)
        try:
            num_words, num_trigrams = config.pop("num_words"), config.pop("num_trigrams")
            features = cls(word_vocab, trigram_vocab, **config)
        except (KeyError, TypeError) as e:
            raise ConfigError(f"config does not describe WordFeatures ({e})") from None
        if (features.num_words, features.num_trigrams) != (num_words, num_trigrams):
            raise ConfigError(f"the vocabularies have {features.num_words} words and {features.num_trigrams} trigrams "
                              f"but the model was built for {num_words} and {num_trigrams}")
        return features

    def extra_repr(self) -> str:
        return (f"words={self.num_words}, trigrams={self.num_trigrams}, one_hot={self.one_hot}, "
                f"embedding_size={self.embedding_size}, projection={self.projection}, output_size={self.output_size}")
