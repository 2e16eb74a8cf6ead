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
`WordFeatures` (rnnlab/layers/word_features.py) turns a batch into features `(T, B, output_size)`. Trigram bags are batched as
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
from torch import Tensor

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
