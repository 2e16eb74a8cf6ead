"""A tree classifier: a label for every node of a tree (a sentiment for every phrase).

    words → embedding → tree cell, bottom-up level by level → [top-down cell] → linear head per node

Leaves read their word's embedding; inner nodes read no input (zeros), as in the constituency
Tree-LSTM of Tai et al. (2015). With `bidirectional`, a top-down pass (an ordinary recurrent cell
reading each node's bottom-up h from the root down) adds each node's context, and the head reads
[bottom-up h; top-down h]. Dropout (training only) acts on the embeddings and on what the head
reads — not inside the recursion.

`TreeClassifier(embedding, up, head, down=None)` takes the modules; `TreeClassifier.build(
vocab_size, num_classes, cell="tree-lstm", ...)` makes them from names and sizes and is what
`config()` describes.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnlab.cells.registry import make_cell
from rnnlab.errors import ConfigError, DataError
from rnnlab.layers.described import Described, described
from rnnlab.tree.batch import TreeBatch
from rnnlab.tree.layer import TreeLayer, TreeOutput
from rnnlab.tree.registry import TREE_CELLS, make_tree_cell
from rnnlab.tree.top_down import TopDown


class TreeClassifier(Described, nn.Module):
    """TreeBatch → logits (N, num_classes), one row per node in the batch's node order."""

    def __init__(self, embedding: nn.Embedding, up: TreeLayer, head: nn.Linear, down: TopDown | None = None, *,
                 dropout: float = 0.0):
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {dropout}")
        if embedding.embedding_dim != up.input_size:
            raise ConfigError(f"the embedding is {embedding.embedding_dim} wide but the tree layer reads {up.input_size}")
        width = up.output_size + (down.output_size if down is not None else 0)
        if down is not None and down.input_size != up.output_size:
            raise ConfigError(f"the top-down pass reads {down.input_size} features but the tree layer gives {up.output_size}")
        if head.in_features != width:
            raise ConfigError(f"the head reads {head.in_features} features but the encoder gives {width}")
        if head.out_features < 2:
            raise ConfigError(f"a classifier needs at least 2 classes, got {head.out_features}")
        self.embedding, self.up, self.down, self.out = embedding, up, down, head
        self.vocab_size, self.num_classes, self.dropout = embedding.num_embeddings, head.out_features, dropout

    @classmethod
    def build(cls, vocab_size: int, num_classes: int, *, cell: str = "tree-lstm", hidden_size: int = 150,
              embedding_size: int = 150, dropout: float = 0.0, bidirectional: bool = False,
              down_cell: str = "lstm") -> "TreeClassifier":
        if vocab_size < 1 or num_classes < 2:
            raise ConfigError(f"need vocab_size >= 1 and num_classes >= 2, got {vocab_size} and {num_classes}")
        if cell not in TREE_CELLS:
            raise ConfigError(f"unknown tree cell {cell!r}; choose one of: {', '.join(TREE_CELLS)}")
        embedding = nn.Embedding(vocab_size, embedding_size)
        up = TreeLayer(make_tree_cell(cell, embedding_size, hidden_size))
        down = TopDown(make_cell(down_cell, hidden_size, hidden_size)) if bidirectional else None
        head = nn.Linear(hidden_size * (2 if bidirectional else 1), num_classes)
        model = cls(embedding, up, head, down, dropout=dropout)
        return described(model, dict(vocab_size=vocab_size, num_classes=num_classes, cell=cell, hidden_size=hidden_size,
                                     embedding_size=embedding_size, dropout=dropout, bidirectional=bidirectional,
                                     down_cell=down_cell))

    def encode(self, batch: TreeBatch, *, record: bool = False) -> tuple[Tensor, TreeOutput]:
        """(what the head reads per node (N, W), the bottom-up layer's output)."""
        if batch.num_nodes and (int(batch.tokens.max()) >= self.vocab_size or int(batch.tokens.min()) < 0):
            raise DataError(f"TreeClassifier: token ids must be in [0, {self.vocab_size})")
        x = F.dropout(self.embedding(batch.tokens), self.dropout, self.training)
        x = torch.where(batch.has_input.unsqueeze(-1), x, x.new_zeros(()))  # inner nodes read no word
        up = self.up(batch, x, record=record)
        h = up.h if self.down is None else torch.cat([up.h, self.down(batch, up.h)], -1)
        return F.dropout(h, self.dropout, self.training), up

    def forward(self, batch: TreeBatch) -> Tensor:
        return self.out(self.encode(batch)[0])

    def extra_repr(self) -> str:
        return f"vocab_size={self.vocab_size}, num_classes={self.num_classes}, dropout={self.dropout}"
