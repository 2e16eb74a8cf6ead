"""The naive recursive reference: one node at a time by recursion over a `Tree`, batch size 1.
What the level-wise layers are checked against (tests) and timed against (bench)."""
from __future__ import annotations

import torch
from torch import Tensor

from rnnlab.data.trees import Tree
from rnnlab.tree.base import TreeCell


def recursive_states(cell: TreeCell, tree: Tree, embed) -> list[tuple[Tensor, ...]]:
    """Every node's state in post-order (the order `TreeBatch` numbers nodes); `embed(node)` → (input_size,)
    input of a node (zeros for inner nodes of a constituency tree)."""
    out: list = []

    def visit(node: Tree):
        kids = [visit(c) for c in node.children]
        K = max(len(kids), 1)
        H = cell.hidden_size
        x = embed(node).unsqueeze(0)
        children = tuple(torch.stack([k[p] for k in kids] + [x.new_zeros(H)] * (K - len(kids))).unsqueeze(0)
                         for p in range(cell.state_parts))
        mask = torch.tensor([[i < len(kids) for i in range(K)]])
        state = tuple(s[0] for s in cell(x, children, mask))
        out.append(state)
        return state

    visit(tree)
    return out


def top_down_outputs(cell, tree: Tree, inputs: list[Tensor]) -> list[Tensor]:
    """The top-down pass by recursion from the root: `inputs` per node in post-order → outputs in post-order."""
    order = list(tree.nodes())
    index = {id(n): i for i, n in enumerate(order)}
    out: list = [None] * len(order)

    def visit(node: Tree, state):
        o, new = cell(inputs[index[id(node)]].unsqueeze(0), state)
        out[index[id(node)]] = o[0]
        for c in node.children:
            visit(c, new)

    visit(tree, cell.init_state(1, inputs[0].device, inputs[0].dtype))
    return out
