"""Record a tree classifier for the explorer: every node's values beside its predicted and gold label.

    recs = record_trees(model, vocab, label_vocab, [tree, ["plain", "words"], ...])
    recs[0].tokens        # one entry per node, post-order (children before parents, the root last):
                          # the word at a leaf, "·" at an inner node
    recs[0].values["tree/h"]     # (nodes, units): the bottom-up layer's output at every node;
                                 # also c, i, o, u (Tree-LSTM), f0, f1 (forget gate of child 0, 1), ...
    recs[0].labels        # each node's predicted label; targets: gold labels (None: unlabelled input)
    recs[0].tree          # {"children": [[child ids] per node], "words": [...]}: what the page draws

A `TreeRecording` is a `Recording` whose "sequence" is the tree's nodes, so every analysis of the
explorer (unit rows, search, selection) works on nodes unchanged; `to_json` adds the structure.
Lists of words are read as balanced binary trees (the predictor's default for plain text).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch

from rnnlab.data.trees import Tree, balanced_tree
from rnnlab.errors import DataError
from rnnlab.explore.record import MAX_TOKENS, Recording
from rnnlab.train.inference import eval_mode, model_device
from rnnlab.tree.batch import TreeBatch

INNER = "·"  # how an inner node (no word) appears among the tokens


@dataclass
class TreeRecording(Recording):
    tree: dict = field(default_factory=dict)

    def to_json(self, *, keys: Sequence[str] | None = None) -> dict:
        return {**super().to_json(keys=keys), "tree": self.tree}


@torch.no_grad()
def record_trees(model, vocab, label_vocab, items: Sequence[Tree | Sequence[str]], top_k: int = 3) -> list[TreeRecording]:
    out, device = [], model_device(model)
    with eval_mode(model):
        for k, item in enumerate(items):
            tree = item if isinstance(item, Tree) else balanced_tree(list(item))
            nodes = list(tree.nodes())
            if len(nodes) > MAX_TOKENS:
                raise DataError(f"example {k} has {len(nodes)} nodes; a recording holds at most {MAX_TOKENS}")
            batch = TreeBatch.from_trees([tree], vocab.index).to(device)
            h, up = model.encode(batch, record=True)
            logits = model.out(h)
            values = {"tree/h": up.h.float().cpu().numpy()}
            if len(up.state) > 1:
                values["tree/c"] = up.state[1].float().cpu().numpy()
            for name, v in up.internals.items():
                if name in ("c", "a", "tensor"):
                    continue
                if v.dim() == 3:  # a gate per child: one key per child position
                    for j in range(v.shape[1]):
                        values[f"tree/{name}{j}"] = v[:, j].float().cpu().numpy()
                else:
                    values[f"tree/{name}"] = v.float().cpu().numpy()
            if model.down is not None:
                values["down/h"] = h[:, model.up.output_size:].float().cpu().numpy()
            probs = torch.softmax(logits.double(), -1).cpu()
            p, idx = probs.topk(min(top_k, probs.shape[-1]), -1)
            predictions = [[(label_vocab[j], float(q)) for q, j in zip(ps, js)] for ps, js in zip(p.tolist(), idx.tolist())]
            labels = [label_vocab[j] for j in logits.argmax(-1).tolist()]
            gold = [n.label for n in nodes]
            targets = gold if isinstance(item, Tree) and any(g is not None for g in gold) else None
            children = [[c for c in row if c >= 0] for row in batch.children.tolist()]
            out.append(TreeRecording([n.word if n.is_leaf else INNER for n in nodes],
                                     {k2: np.asarray(v, dtype=np.float32) for k2, v in values.items()},
                                     predictions, targets, labels,
                                     tree={"children": children, "root": len(nodes) - 1}))
    return out
