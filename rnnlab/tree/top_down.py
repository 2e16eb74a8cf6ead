"""`TopDown`: a pass from the roots to the leaves, so every node also sees its context.

A node's downward state is one step of an ordinary recurrent cell (the cell contract of
rnnlab.cells: `out, state = cell(x, state)`) whose input is the node's bottom-up output and whose
previous state is its parent's downward state — the cell's initial state at roots. So the path
from the root to a node is read like a sequence, and a bidirectional tree encoder is
`[bottom-up h; top-down h]` at every node. Run depth by depth: every node of one depth across the
batch in one call.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnlab.cells.base import RecurrentCell
from rnnlab.errors import ConfigError, DataError
from rnnlab.tree.batch import TreeBatch


def _leaves(state):
    return (state,) if isinstance(state, Tensor) else tuple(t for s in state for t in _leaves(s))


class TopDown(nn.Module):
    def __init__(self, cell: RecurrentCell):
        super().__init__()
        if not isinstance(cell, RecurrentCell):
            raise ConfigError(f"TopDown runs a recurrent cell (rnnlab.cells), got {type(cell).__name__}")
        self.cell = cell
        self.input_size, self.output_size = cell.input_size, cell.output_size

    def forward(self, batch: TreeBatch, x: Tensor) -> Tensor:
        """x (N, input_size), e.g. the bottom-up outputs → (N, output_size) downward outputs."""
        if x.shape != (batch.num_nodes, self.input_size):
            raise DataError(f"TopDown: inputs of shape {tuple(x.shape)}, expected ({batch.num_nodes}, "
                            f"{self.input_size})")
        N = batch.num_nodes
        init = self.cell.init_state(1, x.device, x.dtype)
        flat, rebuild = _flatten(init)
        states = [x.new_zeros((N,) + t.shape[1:]) for t in flat]  # each node's downward state
        out = x.new_zeros(N, self.output_size)
        for ids in batch.down_levels():
            parents = batch.parent[ids]
            root = (parents < 0).unsqueeze(-1)
            prev = [torch.where(root, t.expand(len(ids), *t.shape[1:]), s[parents.clamp(min=0)])
                    for s, t in zip(states, flat)]
            o, new = self.cell(x[ids], rebuild(prev))
            states = [s.index_copy(0, ids, n) for s, n in zip(states, _flatten(new)[0])]
            out = out.index_copy(0, ids, o)
        return out


def _flatten(state):
    """A nested state as a list of tensors, and how to nest such a list again."""
    if isinstance(state, Tensor):
        return [state], lambda ts: ts[0]
    parts = [_flatten(s) for s in state]
    sizes = [len(p[0]) for p in parts]

    def rebuild(ts):
        out, at = [], 0
        for (_, r), n in zip(parts, sizes):
            out.append(r(ts[at:at + n]))
            at += n
        return type(state)(out) if not hasattr(state, "_fields") else type(state)(*out)

    return [t for p in parts for t in p[0]], rebuild
