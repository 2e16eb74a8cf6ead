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

from rnnlab.cells._state import state_map
from rnnlab.cells.base import RecurrentCell
from rnnlab.errors import ConfigError, DataError
from rnnlab.tree.batch import TreeBatch


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
        states = state_map(lambda t: t.new_zeros((N,) + t.shape[1:]), init)  # each node's downward state
        out = x.new_zeros(N, self.output_size)
        for ids in batch.down_levels():
            parents = batch.parent[ids]
            root = (parents < 0).unsqueeze(-1)  # roots start from the cell's initial state
            prev = state_map(lambda s, t: torch.where(root, t, s[parents.clamp(min=0)]), states, init)
            o, new = self.cell(x[ids], prev)
            states = state_map(lambda s, n: s.index_copy(0, ids, n), states, new)
            out = out.index_copy(0, ids, o)
        return out

