"""How a word becomes a vector: 1-of-N, letter-trigram hashing, learned embeddings, or several
concatenated.

- **1-of-N**: a `Vocabulary` with an unknown token; every word outside it lights the unknown
  ("other") dimension. Build the vocabulary with `min_count=2` so rare training words map to it
  and the other dimension is trained.
- **Letter trigrams** (word hashing, Huang et al. 2013): `#apple#` → `#ap app ppl ple le#`; a
  word is the bag (count vector) of its trigrams over a trigram vocabulary built on the training
  words, with an unknown-trigram slot. An unseen word still shares most trigrams with seen ones.
- **Embeddings**: a learned vector per word id.

`WordEncoder` turns sentences into a `WordBatch` of ids (data side, no parameters); the module
`WordFeatures` turns a batch into features `(T, B, output_size)`. Trigram bags are batched as
EmbeddingBag's flat ids + offsets, one bag per (t, b) slot in time-major order — padded slots
are empty bags. By default the sparse parts are materialised exactly (one-hot rows and count
vectors); with `projection=P` they are instead multiplied by a learned (N + K) × P matrix by
lookup (`nn.Embedding` for the word, `nn.EmbeddingBag(mode="sum")` for the trigrams), which equals
`[one_hot; counts] @ W` without building the wide vectors — the first layer reading them then
costs a lookup instead of a (V + K)-wide matrix product.
"""
from __future__ import annotations

import itertools
from typing import Iterable, NamedTuple, Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnlab.data.vocab import Vocabulary
from rnnlab.errors import ConfigError, DataError

BOUNDARY = "#"  # marks a word's start and end in its trigrams


def letter_trigrams(word: str) -> list[str]:
    """`apple` → ['#ap', 'app', 'ppl', 'ple', 'le#'] (repeats kept: they count twice in the bag)."""
    if not word:
        raise DataError("letter_trigrams: empty word")
    w = f"{BOUNDARY}{word}{BOUNDARY}"
    return [w[i:i + 3] for i in range(len(w) - 2)]


class WordBatch(NamedTuple):
    """A padded batch of sentences as ids. Slot (t, b) is bag t·B + b of the trigram tensors."""
    word_ids: Tensor                  # (T, B) int64; padded steps hold the unknown id
    lengths: Tensor                   # (B,) int64, each in [1, T]
    trigram_ids: Tensor | None = None  # (N,) int64: every slot's trigram ids, slot after slot
    trigram_offsets: Tensor | None = None  # (T·B,) int64: where each slot's bag starts in trigram_ids

    def to(self, device) -> "WordBatch":
        return WordBatch(*(None if t is None else t.to(device) for t in self))


class WordEncoder:
    """Sentences → `WordBatch`, given the word vocabulary and optionally a trigram vocabulary."""

    def __init__(self, word_vocab: Vocabulary, trigram_vocab: Vocabulary | None = None):
        if word_vocab.unk is None:
            raise ConfigError("the word vocabulary needs an unknown token (the 'other' dimension), e.g. "
                              "Vocabulary.build(words, unk='<unk>')")
        if trigram_vocab is not None and trigram_vocab.unk is None:
            raise ConfigError("the trigram vocabulary needs an unknown-trigram token")
        self.word_vocab, self.trigram_vocab = word_vocab, trigram_vocab
        self._bags: dict[str, list[int]] = {}  # word → trigram ids; a pure function of the vocabulary

    @classmethod
    def build(cls, sentences: Iterable[Sequence[str]], *, min_count: int = 1, trigrams: bool = True,
              trigram_min_count: int = 1, unk: str = "<unk>") -> "WordEncoder":
        """Vocabularies from (training) sentences. Words seen fewer than `min_count` times map to `unk`,
        so that the unknown dimension is trained; trigrams come from every training word token."""
        words = [w for sentence in sentences for w in sentence]
        if not words:
            raise DataError("cannot build a word vocabulary from no words")
        word_vocab = Vocabulary.build(words, min_count=min_count, unk=unk)
        trigram_vocab = None
        if trigrams:
            grams = itertools.chain.from_iterable(map(letter_trigrams, words))
            trigram_vocab = Vocabulary.build(grams, min_count=trigram_min_count, unk=unk)
        return cls(word_vocab, trigram_vocab)

    def trigram_bag(self, word: str) -> list[int]:
        """The trigram ids of `word` (unknown trigrams → the unknown-trigram id)."""
        bag = self._bags.get(word)
        if bag is None:
            bag = self._bags[word] = self.trigram_vocab.encode(letter_trigrams(word)).tolist()
        return bag

    def encode(self, sentences: Sequence[Sequence[str]]) -> WordBatch:
        """A padded, time-major batch. `sentences` is a list of word lists, each non-empty."""
        if isinstance(sentences, str) or not sentences or any(isinstance(s, str) for s in sentences):
            raise DataError("encode expects a non-empty list of sentences, each a list of words")
        lengths = [len(s) for s in sentences]
        if min(lengths) == 0:
            raise DataError(f"sentence {lengths.index(0)} of the batch is empty")
        T, B = max(lengths), len(sentences)
        ids = torch.full((B, T), self.word_vocab.unk_index, dtype=torch.long)
        for b, s in enumerate(sentences):
            ids[b, :len(s)] = self.word_vocab.encode(s)
        batch = WordBatch(ids.t().contiguous(), torch.tensor(lengths, dtype=torch.long))
        if self.trigram_vocab is None:
            return batch
        flat, sizes = [], []
        for t in range(T):  # slot order t·B + b, matching word_ids.flatten()
            for s in sentences:
                bag = self.trigram_bag(s[t]) if t < len(s) else []
                flat.extend(bag)
                sizes.append(len(bag))
        offsets = torch.tensor([0] + sizes[:-1], dtype=torch.long).cumsum(0)
        return batch._replace(trigram_ids=torch.tensor(flat, dtype=torch.long), trigram_offsets=offsets)


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
