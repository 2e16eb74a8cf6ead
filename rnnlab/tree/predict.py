"""A trained tree classifier with its vocabularies: trees in (bracketed, or plain text turned into a
stated tree shape), a label for every node out. Needs no data splits."""
from __future__ import annotations

from typing import NamedTuple, Sequence

import torch

from rnnlab.data.trees import Tree, text_tree
from rnnlab.data.vocab import Vocabulary
from rnnlab.errors import ConfigError
from rnnlab.train.inference import eval_mode, model_device
from rnnlab.tree.batch import TreeBatch


class TreePrediction(NamedTuple):
    tree: Tree                     # the tree read (gold labels where the input had them)
    label: str                     # the root's predicted label
    probabilities: dict[str, float]  # the root's
    node_labels: list[str]         # every node's predicted label, post-order (the root last)


class TreePredictor:
    """`predict_many(texts)`: a text starting with '(' is a bracketed tree; anything else is split on
    whitespace into a `shape` tree ("balanced" or "right")."""

    def __init__(self, model, vocab: Vocabulary, label_vocab: Vocabulary, *, shape: str = "balanced",
                 batch_size: int = 128):
        if batch_size < 1:
            raise ConfigError(f"batch size must be >= 1, got {batch_size}")
        self.model, self.vocab, self.label_vocab = model, vocab, label_vocab
        self.shape, self.batch_size = shape, batch_size

    def trees(self, texts: Sequence[str]) -> list[Tree]:
        return [text_tree(t, self.shape) for t in texts]

    @torch.no_grad()
    def predict_trees(self, trees: Sequence[Tree]) -> list[TreePrediction]:
        labels, out = self.label_vocab.tokens, []
        with eval_mode(self.model):
            for start in range(0, len(trees), self.batch_size):
                chunk = trees[start:start + self.batch_size]
                batch = TreeBatch.from_trees(chunk, self.vocab.index).to(model_device(self.model))
                logits = self.model(batch)
                best = logits.argmax(-1).tolist()
                probs = torch.softmax(logits.double(), -1)
                first = 0
                for tree, root in zip(chunk, batch.roots.tolist()):
                    out.append(TreePrediction(tree, labels[best[root]], dict(zip(labels, probs[root].tolist())),
                                              [labels[i] for i in best[first:root + 1]]))
                    first = root + 1
        return out

    def predict_many(self, texts: Sequence[str]) -> list[TreePrediction]:
        return self.predict_trees(self.trees(texts))
