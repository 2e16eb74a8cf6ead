"""Tree classification as a trainer task: every labelled node is a training example.

A batch is `batch_size` trees (an order drawn from (seed, epoch) alone, so update `index` of
`epoch` is the same after a resume) turned into one `TreeBatch`; the loss is the mean
cross-entropy over all of its nodes that have a label (in the Sentiment Treebank, every phrase).
Nodes whose label is None (neutral phrases under the binary scheme) are left out of the loss.

Evaluation scores the roots — the sentence label the literature reports — and all labelled
nodes: {"accuracy": root accuracy, "error": 1 − root accuracy (what picks the best weights on
the validation split), "phrase_accuracy", "loss": mean cross-entropy over labelled nodes}. A gold
label the label vocabulary lacks can never be predicted: it counts as an error.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch.nn import functional as F

from rnnlab.data.trees import Tree
from rnnlab.data.vocab import Vocabulary
from rnnlab.errors import ConfigError, DataError
from rnnlab.train.inference import eval_mode, model_device
from rnnlab.train.shuffle import EpochShuffle
from rnnlab.train.trainer import StepOutput
from rnnlab.tree.batch import IGNORE, TreeBatch

UNKNOWN_LABEL = -1  # a gold label outside the label vocabulary: scored as an error, never trained on


class TreeTask:
    metric = "error"

    def __init__(self, splits: dict[str, list[Tree]], vocab: Vocabulary, label_vocab: Vocabulary | None = None, *,
                 batch_size: int = 25, eval_batch_size: int = 128, seed: int = 0):
        if batch_size < 1 or eval_batch_size < 1:
            raise ConfigError(f"batch sizes must be >= 1, got {batch_size} and {eval_batch_size}")
        train = splits.get("train")
        if not train:
            raise DataError(f"tree task: no training trees (splits: {', '.join(splits) or 'none'})")
        if label_vocab is None:
            label_vocab = self.build_label_vocab(train)
        if len(label_vocab) < 2:
            raise DataError("tree task: the training trees have fewer than two labels; a classifier needs two")
        self.splits, self.vocab, self.label_vocab = splits, vocab, label_vocab
        self.batch_size, self.eval_batch_size, self.seed = batch_size, eval_batch_size, seed
        self.shuffle = EpochShuffle(len(train), seed)

    @staticmethod
    def build_vocab(trees: Sequence[Tree], *, min_count: int = 1) -> Vocabulary:
        return Vocabulary.build((w for t in trees for w in t.leaves()), min_count=min_count)

    @staticmethod
    def build_label_vocab(trees: Sequence[Tree]) -> Vocabulary:
        """Every label on any node of the training trees, sorted (so "0" … "4" keep their order)."""
        labels = sorted({n.label for t in trees for n in t.nodes() if n.label is not None})
        return Vocabulary(labels, unk=None)

    @property
    def num_classes(self) -> int:
        return len(self.label_vocab)

    def _label_id(self, label: str | None) -> int:
        if label is None:
            return IGNORE
        return self.label_vocab.index(label) if label in self.label_vocab else UNKNOWN_LABEL

    def make_batch(self, trees: Sequence[Tree], device=None) -> TreeBatch:
        batch = TreeBatch.from_trees(trees, self.vocab.index, self._label_id)
        return batch.to(device) if device is not None else batch

    def num_batches(self) -> int:
        return -(-len(self.splits["train"]) // self.batch_size)

    def train_step(self, model, epoch: int, index: int, carry) -> StepOutput:
        if not 0 <= index < self.num_batches():
            raise IndexError(f"batch index {index} out of range [0, {self.num_batches()})")
        rows = self.shuffle.batch(epoch, index, self.batch_size).tolist()
        batch = self.make_batch([self.splits["train"][i] for i in rows], model_device(model))
        logits = model(batch)
        labels = batch.labels.masked_fill(batch.labels == UNKNOWN_LABEL, IGNORE)
        known = int((labels != IGNORE).sum())
        if known == 0:  # a batch of unlabelled trees teaches nothing; keep the graph connected
            return StepOutput(logits.sum() * 0.0, 0)
        return StepOutput(F.cross_entropy(logits, labels, ignore_index=IGNORE), known)

    @torch.no_grad()
    def evaluate(self, model, split: str) -> dict[str, float]:
        if split not in self.splits:
            raise DataError(f"no {split!r} split to evaluate on (have: {', '.join(self.splits)})")
        trees = self.splits[split]
        if not trees:
            raise DataError(f"split {split!r} has no trees")
        nll, known, nodes, node_correct, roots, root_correct = 0.0, 0, 0, 0, 0, 0
        device = model_device(model)
        with eval_mode(model):
            for start in range(0, len(trees), self.eval_batch_size):
                batch = self.make_batch(trees[start:start + self.eval_batch_size], device)
                logits = model(batch)
                gold = batch.labels
                trainable = gold >= 0
                if trainable.any():
                    nll += float(F.cross_entropy(logits[trainable], gold[trainable], reduction="sum"))
                known += int(trainable.sum())
                scored = gold != IGNORE
                right = logits.argmax(-1) == gold
                nodes += int(scored.sum())
                node_correct += int((right & scored).sum())
                root_scored = scored[batch.roots]
                roots += int(root_scored.sum())
                root_correct += int((right[batch.roots] & root_scored).sum())
        if roots == 0:
            raise DataError(f"split {split!r}: no tree has a usable root label")
        accuracy = root_correct / roots
        return {"loss": nll / max(known, 1), "accuracy": accuracy, "error": 1.0 - accuracy,
                "phrase_accuracy": node_correct / max(nodes, 1)}
