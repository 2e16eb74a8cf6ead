"""A trained tagger with its vocabularies: sentences in, tags (and the intent) out.

Kept apart from `TaggingTask` because prediction needs no data splits: `rnnlab tag` and the
explorer load a run directory and tag whatever they are given. Sentences are batched by
length (less padding); the order of the results is the order of the input.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from rnnlab.data.vocab import Vocabulary
from rnnlab.errors import ConfigError, DataError
from rnnlab.tagging.bio import bio_constraints, bio_viterbi
from rnnlab.train.inference import eval_mode, length_batches, model_device


class TagLabels:
    """Sizes of the tag and intent vocabularies held as `tag_vocab` / `intent_vocab` (None: no intents)."""

    tag_vocab: Vocabulary
    intent_vocab: Vocabulary | None

    @property
    def num_tags(self) -> int:
        return len(self.tag_vocab)

    @property
    def num_intents(self) -> int:
        """0 when the data has no intents (then build the Tagger with num_intents=0)."""
        return 0 if self.intent_vocab is None else len(self.intent_vocab)


class SlotFiller(TagLabels):
    """Sentences (lists of words) → (tags, intent or None) per sentence, with a trained `Tagger`."""

    def __init__(self, model, tag_vocab: Vocabulary, intent_vocab: Vocabulary | None = None, *, encoder=None,
                 batch_size: int = 64, bio_decoding: bool = False):
        """`encoder`: what turns sentences into a `WordBatch` (default: the model's own features).
        `bio_decoding`: the best valid BIO sequence (`rnnlab.tagging.bio`) instead of each word's argmax."""
        if batch_size < 1:
            raise ConfigError(f"batch size must be >= 1, got {batch_size}")
        self.model, self.tag_vocab, self.intent_vocab = model, tag_vocab, intent_vocab
        self.encoder = model.features if encoder is None else encoder
        self.batch_size = batch_size
        self.bio = bio_constraints(tag_vocab.tokens) if bio_decoding else None

    def check_outputs(self, tag_logits: Tensor, intent_logits: Tensor | None) -> None:
        if tag_logits.shape[-1] != self.num_tags:
            raise ConfigError(f"the model predicts {tag_logits.shape[-1]} tags but the task has {self.num_tags}")
        if intent_logits is not None and intent_logits.shape[-1] != self.num_intents:
            raise ConfigError(f"the model predicts {intent_logits.shape[-1]} intents but the task has "
                              f"{self.num_intents}" + (" (the data has no intents)" if not self.num_intents else ""))

    def batches(self, lengths: Sequence[int]) -> list[list[int]]:
        return length_batches(lengths, self.batch_size)

    def decode(self, tag_logits: Tensor, intent_logits: Tensor | None, lengths: Tensor):
        """(tags, intent or None) per sentence of a batch: the argmax at each real step, the best
        valid BIO sequence, or (a model with a CRF head) the CRF's Viterbi path."""
        crf = getattr(self.model, "crf", None)
        if crf is not None:  # the CRF's Viterbi path (under its own constraints, if any)
            best = crf.decode(tag_logits, lengths).t().tolist()
        elif self.bio is None:
            best = tag_logits.argmax(-1).t().tolist()  # (B, T)
        else:
            best = bio_viterbi(torch.log_softmax(tag_logits, -1), lengths, *self.bio).t().tolist()
        intents = ([None] * len(best) if intent_logits is None or self.intent_vocab is None
                   else self.intent_vocab.decode(intent_logits.argmax(-1)))
        for b, n in enumerate(lengths.tolist()):
            yield self.tag_vocab.decode(best[b][:n]), intents[b]

    def predict_many(self, sentences: Sequence[Sequence[str]]) -> list[tuple[list[str], str | None]]:
        """(tags, intent) for each sentence (intent None without an intent head)."""
        sentences = [list(s) for s in sentences]
        if any(not s for s in sentences):
            raise DataError(f"sentence {[len(s) for s in sentences].index(0)} is empty")
        results: list = [None] * len(sentences)
        device = model_device(self.model)
        with torch.no_grad(), eval_mode(self.model):
            for rows in self.batches([len(s) for s in sentences]):
                words = self.encoder.encode([sentences[i] for i in rows]).to(device)
                tag_logits, intent_logits = self.model(words)
                self.check_outputs(tag_logits, intent_logits)
                for i, result in zip(rows, self.decode(tag_logits, intent_logits, words.lengths)):
                    results[i] = result
        return results

    def predict(self, words: Sequence[str] | str) -> tuple[list[str], str | None]:
        """Tags and intent of one sentence: a list of words, or a string split on whitespace."""
        words = words.split() if isinstance(words, str) else list(words)
        if not words:
            raise DataError("predict: empty sentence")
        return self.predict_many([words])[0]
