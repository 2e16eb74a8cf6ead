"""`TreeLayer`: any tree cell run bottom-up over a batch of trees, one call per height.

Every node of height 0 (all leaves of all trees) goes through the cell in one call, then every
node of height 1, and so on: a node's children always have smaller heights, so their states are
ready. A batch of B trees of height ≤ L costs L + 1 cell calls, however many nodes it holds —
node by node (`levelwise=False`, for the speed comparison and as a check) it costs one per node.

States live in one (N, H) buffer per state component; each level reads its children's rows by
index (absent children selected to zeros, never multiplied by a mask, so nothing from a padding
row reaches a value or a gradient) and writes its own rows with `index_copy` (out of place, so
autograd keeps every level's inputs).

    out = layer(batch, x)                          # x (N, input_size) per-node inputs
    out.h (N, H), out.state (tuple of (N, H)), out.internals ({name: (N, ...)} with record=True)
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from rnnlab.errors import ConfigError, DataError
from rnnlab.tree.base import State, TreeCell
from rnnlab.tree.batch import TreeBatch


class TreeOutput(NamedTuple):
    h: Tensor
    state: State
    internals: dict[str, Tensor]


def gather_children(states: State, children: Tensor) -> tuple[State, Tensor]:
    """The children's rows of each state component, (M, K, H), zeros where `children` is -1; and the mask."""
    mask = children >= 0
    index = children.clamp(min=0)
    picked = tuple(torch.where(mask.unsqueeze(-1), s[index], s.new_zeros(())) for s in states)
    return picked, mask


def check_arity(cell: TreeCell, batch: TreeBatch) -> None:
    widest = int((batch.children >= 0).sum(1).max()) if batch.num_nodes else 0
    if cell.arity is not None and widest > cell.arity:
        raise DataError(f"a node has {widest} children but the {type(cell).__name__} combines at most "
                        f"{cell.arity}; binarise the trees or use a child-sum cell")


class TreeLayer(nn.Module):
    """A tree cell applied bottom-up (see the module docstring)."""

    def __init__(self, cell: TreeCell, *, levelwise: bool = True):
        super().__init__()
        if not isinstance(cell, TreeCell):
            raise ConfigError(f"TreeLayer runs a TreeCell, got {type(cell).__name__}")
        self.cell, self.levelwise = cell, levelwise
        self.input_size, self.output_size = cell.input_size, cell.output_size

    def groups(self, batch: TreeBatch) -> list[Tensor]:
        if self.levelwise:
            return batch.levels()
        return list(torch.arange(batch.num_nodes, device=batch.tokens.device).split(1))  # post-order

    def forward(self, batch: TreeBatch, x: Tensor, *, record: bool = False) -> TreeOutput:
        if x.shape != (batch.num_nodes, self.input_size):
            raise DataError(f"TreeLayer: inputs of shape {tuple(x.shape)}, expected ({batch.num_nodes}, "
                            f"{self.input_size}) for {batch.num_nodes} nodes")
        check_arity(self.cell, batch)
        H, N = self.cell.hidden_size, batch.num_nodes
        states: State = tuple(x.new_zeros(N, H) for _ in range(self.cell.state_parts))
        recorded: dict[str, list[tuple[Tensor, Tensor]]] = {name: [] for name in self.cell.internals}
        for ids in self.groups(batch):
            kids = batch.children[ids]
            children, mask = gather_children(states, kids)
            new, internals = self.cell.step(x[ids], children, mask)
            states = tuple(s.index_copy(0, ids, n) for s, n in zip(states, new))
            if record:
                for name in recorded:
                    recorded[name].append((ids, internals[name]))
        return TreeOutput(states[0], states, {name: _scatter(parts, N) for name, parts in recorded.items()}
                          if record else {})


def _scatter(parts: list[tuple[Tensor, Tensor]], n: int) -> Tensor:
    """Per-group values back in node order (N, ...); per-child values padded to the widest group."""
    width = max((v.shape[1] for _, v in parts if v.dim() == 3), default=None)
    first = parts[0][1]
    shape = (n,) + ((width,) + first.shape[2:] if first.dim() == 3 else first.shape[1:])
    out = first.new_zeros(shape)
    for ids, v in parts:
        out[ids, ..., :] = v if v.dim() == 2 else torch.nn.functional.pad(v, (0, 0, 0, width - v.shape[1]))
    return out
