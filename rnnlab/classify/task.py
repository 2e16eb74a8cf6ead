"""Sequence classification as a trainer task.

Each epoch visits the training examples in an order drawn from (seed, epoch) alone, so update
`index` of `epoch` is the same batch after a resume. A batch is padded to its longest sequence and
carries the lengths; the loss is the mean cross-entropy of the batch's labels.

The label vocabulary is built on the training split unless given. Gold labels it does not hold (a
class that only occurs in the test set) cannot be predicted: they are left out of the loss but
scored as they are, so they count as errors in accuracy. Tokens unknown to the token vocabulary
encode to its unknown token, or are an error naming them when it has none (a character-level
vocabulary without <unk>, where an unseen character usually means the wrong file).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor
from torch.nn import functional as F

from rnnlab.data.labelled import LabelledExample
from rnnlab.data.vocab import Vocabulary
from rnnlab.errors import ConfigError, DataError
from rnnlab.classify.predict import LabelPredictor
from rnnlab.train.inference import eval_mode, length_batches, model_device
from rnnlab.train.shuffle import EpochShuffle
from rnnlab.train.trainer import StepOutput

IGNORE = -100  # label id of gold labels the model cannot know (F.cross_entropy's default ignore_index)


class ClassificationTask:
    """Sequence classification for the `Trainer`: batches of token ids (T, B) with lengths (B,) and
    labels (B,) → a `SequenceClassifier`'s cross-entropy; `evaluate` gives loss and accuracy."""

    metric = "error"  # 1 − accuracy

    def __init__(self, splits: dict[str, list[LabelledExample]], vocab: Vocabulary,
                 label_vocab: Vocabulary | None = None, *, batch_size: int = 32, eval_batch_size: int = 128,
                 seed: int = 0):
        """`vocab` maps tokens to the model's input ids (see `build_vocab`); `label_vocab` maps labels
        to class ids and is built on splits["train"] when not given."""
        if batch_size < 1 or eval_batch_size < 1:
            raise ConfigError(f"batch sizes must be >= 1, got {batch_size} and {eval_batch_size}")
        train = splits.get("train")
        if not train:
            raise DataError(f"classification task: no training examples (splits: {', '.join(splits) or 'none'})")
        if label_vocab is None:
            label_vocab = Vocabulary.build((ex.label for ex in train), unk=None)
        unseen = sorted({ex.label for ex in train} - set(label_vocab.tokens))
        if unseen:
            raise DataError(f"classification task: training labels missing from the label vocabulary: {unseen[:5]}")
        if len(label_vocab) < 2:
            raise DataError(f"classification task: the training examples have only one label "
                            f"({label_vocab.tokens[0]!r}); a classifier needs at least two")
        self.splits, self.vocab, self.label_vocab = splits, vocab, label_vocab
        self.batch_size, self.eval_batch_size, self.seed = batch_size, eval_batch_size, seed
        self._ids = {name: self._encode_split(name, examples) for name, examples in splits.items()}
        self.shuffle = EpochShuffle(len(self.splits["train"]), seed)

    @staticmethod
    def build_vocab(examples: Sequence[LabelledExample], *, min_count: int = 1, max_size: int | None = None,
                    unk: str | None = "<unk>") -> Vocabulary:
        """The token vocabulary of (training) examples; tokens below `min_count` or beyond `max_size`
        map to `unk` (unk=None: no unknown token, and unseen tokens are an error)."""
        return Vocabulary.build((t for ex in examples for t in ex.tokens), min_count=min_count, max_size=max_size,
                                unk=unk)

    @property
    def num_classes(self) -> int:
        return len(self.label_vocab)

    def _encode_split(self, name: str, examples: Sequence[LabelledExample]) -> list[tuple[Tensor, int]]:
        """(token ids, label id or IGNORE) for each example, encoded once."""
        try:
            return [(self.vocab.encode(ex.tokens), self._label_id(ex.label)) for ex in examples]
        except DataError as e:
            raise DataError(f"classification task, split {name!r}: {e}") from None

    def _label_id(self, label: str) -> int:
        return self.label_vocab.index(label) if label in self.label_vocab else IGNORE

    # --- training ------------------------------------------------------------------------------

    def num_batches(self) -> int:
        return self.shuffle.num_batches(self.batch_size)

    def shard(self, rank: int, world_size: int) -> None:
        """Distributed training: this process reads its part of each global batch."""
        self.shuffle.shard(rank, world_size)

    def batch_rows(self, epoch: int, index: int) -> list[int]:
        """Example indices of update `index` of `epoch` (a shuffle that depends on seed and epoch only)."""
        if not 0 <= index < self.num_batches():
            raise IndexError(f"batch index {index} out of range [0, {self.num_batches()})")
        return self.shuffle.batch(epoch, index, self.batch_size).tolist()

    def train_step(self, model, epoch: int, index: int, carry) -> StepOutput:
        tokens, lengths, labels = self.make_batch([self._ids["train"][i] for i in self.batch_rows(epoch, index)],
                                                  model_device(model))
        logits = model(tokens, lengths)
        self._check_logits(logits, len(lengths))
        return StepOutput(F.cross_entropy(logits, labels, ignore_index=IGNORE), len(lengths))

    @staticmethod
    def make_batch(encoded: Sequence[tuple[Tensor, int]], device=None) -> tuple[Tensor, Tensor, Tensor]:
        """Token ids (T, B) padded with 0, lengths (B,), label ids (B,) with IGNORE for unknown labels."""
        lengths = torch.tensor([len(ids) for ids, _ in encoded])
        tokens = torch.zeros(int(lengths.max()), len(encoded), dtype=torch.long)
        for b, (ids, _) in enumerate(encoded):
            tokens[:len(ids), b] = ids
        labels = torch.tensor([label for _, label in encoded])
        return tokens.to(device), lengths.to(device), labels.to(device)

    def _check_logits(self, logits: Tensor, batch: int) -> None:
        if logits.shape != (batch, self.num_classes):
            raise ConfigError(f"the model gives logits of shape {tuple(logits.shape)} but the task has {batch} "
                              f"sequences and {self.num_classes} classes; build it with num_classes={self.num_classes}")

    # --- evaluation and prediction ---------------------------------------------------------------

    @torch.no_grad()
    def evaluate(self, model, split: str) -> dict[str, float]:
        """{"loss": mean cross-entropy over examples with a known label, "accuracy" over all examples
        (an unknown gold label is always wrong), "error": 1 − accuracy}."""
        if split not in self.splits:
            raise DataError(f"no {split!r} split to evaluate on (have: {', '.join(self.splits)})")
        encoded = self._ids[split]
        if not encoded:
            raise DataError(f"split {split!r} has no examples")
        nll, known, correct = 0.0, 0, 0
        device = model_device(model)
        with eval_mode(model):
            for rows in length_batches([len(ids) for ids, _ in encoded], self.eval_batch_size):
                tokens, lengths, labels = self.make_batch([encoded[i] for i in rows], device)
                logits = model(tokens, lengths)
                self._check_logits(logits, len(rows))
                nll += float(F.cross_entropy(logits, labels, ignore_index=IGNORE, reduction="sum"))
                known += int((labels != IGNORE).sum())
                correct += int((logits.argmax(-1) == labels).sum())  # IGNORE never equals a prediction
        accuracy = correct / len(encoded)
        return {"loss": nll / max(known, 1), "accuracy": accuracy, "error": 1.0 - accuracy}

    def predictor(self, model) -> LabelPredictor:
        return LabelPredictor(model, self.vocab, self.label_vocab, batch_size=self.eval_batch_size)

    def predict_many(self, model, sequences: Sequence[Sequence[str]]) -> list[tuple[str, dict[str, float]]]:
        """(predicted label, {label: probability}) for each token sequence."""
        return self.predictor(model).predict_many(sequences)

    def predict(self, model, tokens: Sequence[str]) -> tuple[str, dict[str, float]]:
        """(predicted label, {label: probability}) for one token sequence."""
        return self.predictor(model).predict(tokens)
