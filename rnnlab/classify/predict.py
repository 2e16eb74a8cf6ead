"""A trained sequence classifier with its vocabularies: token sequences in, labels and
probabilities out. Needs no data splits, so `rnnlab classify` can load a run and classify
whatever it is given."""
from __future__ import annotations

from typing import Sequence

import torch

from rnnlab.data.vocab import Vocabulary
from rnnlab.errors import ConfigError, DataError
from rnnlab.train.inference import eval_mode, length_batches, model_device


class LabelPredictor:
    """Labels of raw token sequences from a trained `SequenceClassifier`: `predict_many(sequences)`
    → per sequence (label, {label: probability}); sequences are token lists (unknown tokens map to
    the vocabulary's <unk>), batched `batch_size` at a time, the model run in eval mode."""

    def __init__(self, model, vocab: Vocabulary, label_vocab: Vocabulary, *, batch_size: int = 128):
        if batch_size < 1:
            raise ConfigError(f"batch size must be >= 1, got {batch_size}")
        self.model, self.vocab, self.label_vocab, self.batch_size = model, vocab, label_vocab, batch_size

    def encode(self, sequences: Sequence[Sequence[str]]) -> list[torch.Tensor]:
        encoded = []
        for i, tokens in enumerate(sequences):
            if isinstance(tokens, str):
                raise DataError(f"predict: sequence {i} is a string; pass its tokens "
                                f"(text.split() for words, list(text) for characters)")
            if len(tokens) == 0:
                raise DataError(f"predict: sequence {i} is empty")
            encoded.append(self.vocab.encode(list(tokens)))
        return encoded

    def predict_many(self, sequences: Sequence[Sequence[str]]) -> list[tuple[str, dict[str, float]]]:
        """(predicted label, {label: probability}) for each token sequence."""
        encoded = self.encode(sequences)
        results: list = [None] * len(encoded)
        device, labels = model_device(self.model), self.label_vocab.tokens
        with torch.no_grad(), eval_mode(self.model):
            for rows in length_batches([len(ids) for ids in encoded], self.batch_size):
                lengths = torch.tensor([len(encoded[i]) for i in rows])
                tokens = torch.zeros(int(lengths.max()), len(rows), dtype=torch.long)
                for b, i in enumerate(rows):
                    tokens[:len(encoded[i]), b] = encoded[i]
                logits = self.model(tokens.to(device), lengths.to(device))
                if logits.shape != (len(rows), len(labels)):
                    raise ConfigError(f"the model gives logits of shape {tuple(logits.shape)}; expected "
                                      f"({len(rows)}, {len(labels)}) for {len(labels)} labels")
                probs = torch.softmax(logits.double(), dim=-1).tolist()
                for i, best, p in zip(rows, logits.argmax(-1).tolist(), probs):
                    results[i] = (labels[best], dict(zip(labels, p)))
        return results

    def predict(self, tokens: Sequence[str]) -> tuple[str, dict[str, float]]:
        return self.predict_many([tokens])[0]
