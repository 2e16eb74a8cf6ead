"""A batch of trees as flat tensors, so a layer can run every node of one height at once.

The nodes of all trees are numbered together, each tree's in post-order (children before their
parent, its root last), so node ids also give a valid node-by-node order. Per node:

    tokens    (N,)    input id of a leaf, `pad_token` (0) at inner nodes (which read no word)
    has_input (N,)    True at leaves
    children  (N, K)  ids of its children in order, -1 past the last (K = the widest node)
    height    (N,)    0 at leaves, 1 + the highest child above them
    depth     (N,)    0 at roots, 1 + the parent's below them (what a top-down pass goes by)
    parent    (N,)    the parent's id, -1 at roots
    labels    (N,)    label id, `IGNORE` (-100) where the node has none the task can use
    roots     (B,)    each tree's root id, in the order the trees were given

`levels()` lists, per height, the ids of every node of that height across the whole batch — the
groups a level-wise layer runs in one call each; `down_levels()` does the same by depth.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch import Tensor

from rnnlab.data.trees import Tree
from rnnlab.errors import DataError

IGNORE = -100  # F.cross_entropy's ignore_index: a node without a usable label


@dataclass
class TreeBatch:
    tokens: Tensor
    has_input: Tensor
    children: Tensor
    height: Tensor
    depth: Tensor
    parent: Tensor
    labels: Tensor
    roots: Tensor

    @property
    def num_nodes(self) -> int:
        return self.tokens.shape[0]

    @property
    def num_trees(self) -> int:
        return self.roots.shape[0]

    @property
    def max_children(self) -> int:
        return self.children.shape[1]

    @classmethod
    def from_trees(cls, trees: Sequence[Tree], token_id: Callable[[str], int],
                   label_id: Callable[[str | None], int] = lambda label: IGNORE) -> "TreeBatch":
        """`token_id(word)` and `label_id(label)` (IGNORE for none) encode the trees' nodes."""
        if not trees:
            raise DataError("a tree batch needs at least one tree")
        tokens, has_input, children, height, depth, parent, labels, roots = [], [], [], [], [], [], [], []
        for tree in trees:
            done: list[int] = []  # ids of finished subtrees not yet given a parent (post-order: a stack)
            for obj, d in _post_order_with_depth(tree):
                nid = len(tokens)
                if obj.is_leaf:
                    tokens.append(token_id(obj.word))
                    has_input.append(True)
                    children.append([])
                    height.append(0)
                else:
                    kids = done[len(done) - len(obj.children):]
                    del done[len(done) - len(obj.children):]
                    tokens.append(0)
                    has_input.append(False)
                    children.append(kids)
                    height.append(1 + max(height[k] for k in kids))
                    for k in kids:
                        parent[k] = nid
                done.append(nid)
                depth.append(d)
                parent.append(-1)
                labels.append(label_id(obj.label))
            roots.append(len(tokens) - 1)
        width = max(1, max(len(c) for c in children))
        child = torch.full((len(children), width), -1, dtype=torch.long)
        for n, kids in enumerate(children):
            child[n, :len(kids)] = torch.tensor(kids, dtype=torch.long) if kids else child[n, :0]
        return cls(torch.tensor(tokens, dtype=torch.long), torch.tensor(has_input), child,
                   torch.tensor(height), torch.tensor(depth), torch.tensor(parent),
                   torch.tensor(labels, dtype=torch.long), torch.tensor(roots))

    def levels(self) -> list[Tensor]:
        """Node ids by height, leaves first: a node's children are all in earlier groups."""
        return _groups(self.height)

    def down_levels(self) -> list[Tensor]:
        """Node ids by depth, roots first: a node's parent is in the group before."""
        return _groups(self.depth)

    def to(self, device) -> "TreeBatch":
        return TreeBatch(*(getattr(self, f).to(device) for f in self.__dataclass_fields__))

    def tree_of(self) -> Tensor:
        """(N,) the index of each node's tree in the batch."""
        out = torch.empty(self.num_nodes, dtype=torch.long)
        start = 0
        for b, root in enumerate(self.roots.tolist()):
            out[start:root + 1] = b
            start = root + 1
        return out


def _groups(key: Tensor) -> list[Tensor]:
    order = torch.argsort(key, stable=True)
    counts = torch.bincount(key).tolist()
    return [g for g in torch.split(order, counts) if len(g)]


def _post_order_with_depth(tree: Tree):
    """(node, depth) children before parents, left to right."""
    stack = [(tree, 0, False)]
    while stack:
        node, d, expanded = stack.pop()
        if expanded or node.is_leaf:
            yield node, d
        else:
            stack.append((node, d, True))
            stack.extend((c, d + 1, False) for c in reversed(node.children))
