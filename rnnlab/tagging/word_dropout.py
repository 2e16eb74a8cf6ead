"""Word dropout: in training, each word is read as the unknown word with probability p.

With `min_count` 1 every training word has its own embedding and the unknown word's embedding is
never trained, yet at test time every unseen word ("bh", "dtw", a flight number) is read through
it. Replacing words by <unk> at random during training (Iyyer et al. 2015; Lample et al. 2016
replace singletons) trains that embedding and teaches the tagger to tag from the rest of the
word's features — letter trigrams, characters — and from the context:

    id'_t = <unk>  with probability p        (training only; id'_t = id_t in evaluation)
    x_t   = features(id'_t, trigrams_t, letters_t)

Only the word id is replaced: trigram bags and letters (`CharBatch`) stay those of the real word.
The wrapper sits directly around `WordFeatures` (rnnlab/tagging/inputs.py) and delegates
`encode`, `encoder`, the vocabularies and `output_size`; `config()` is the inner config plus
"word_dropout".
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnlab.errors import ConfigError


class WordDropout(nn.Module):
    """`features` (a `WordFeatures`), whose batch's word ids are replaced by <unk> with
    probability `p` in training mode."""

    def __init__(self, features: nn.Module, p: float):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 < p < 1.0:
            raise ConfigError(f"word dropout must be a probability in (0, 1), got {p!r}")
        if features.word_vocab.unk is None:
            raise ConfigError("word dropout needs a word vocabulary with an unknown word")
        self.inner, self.p = features, float(p)
        self.unk_index = features.word_vocab.unk_index

    output_size = property(lambda self: self.inner.output_size)
    word_vocab = property(lambda self: self.inner.word_vocab)
    trigram_vocab = property(lambda self: self.inner.trigram_vocab)
    encoder = property(lambda self: getattr(self.inner, "encoder", self.inner))  # CharWordEncoder wraps it

    def encode(self, sentences):
        return self.inner.encode(sentences)

    def forward(self, batch) -> Tensor:
        if self.training:
            ids = batch.word_ids
            # padded slots already hold <unk>: replacing them changes nothing
            drop = torch.rand(ids.shape, device=ids.device) < self.p
            batch = batch._replace(word_ids=ids.masked_fill(drop, self.unk_index))
        return self.inner(batch)

    def config(self) -> dict:
        return {**self.inner.config(), "word_dropout": self.p}

    def extra_repr(self) -> str:
        return f"p={self.p}"
