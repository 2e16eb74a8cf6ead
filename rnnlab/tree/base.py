"""The tree-cell contract: the parameters and one combine step of a recursive network.

    state, internals = cell.step(x, children, mask)
    state = cell(x, children, mask)

for M nodes at once: `x` (M, input_size) is each node's input (zeros at nodes that read none,
such as a constituency tree's inner nodes); `children` is a tuple of the children's states, one
tensor (M, K, hidden_size) per state component in child order; `mask` (M, K) is True where a
child exists. Absent children's states are zeros (the layer guarantees it), so a leaf is just a
node whose mask is all False. The new `state` is a tuple of (M, hidden_size) tensors whose first
is the node's output h (a Tree-LSTM's state is (h, c)); `internals` maps the names in
`cell.internals` to the values the step computed ((M, H), or (M, K, H) for per-child gates).

`arity` is the most children the cell can combine (None: any number, as Child-Sum cells);
`state_parts` how many tensors its state has. A cell is the same weights at every node: what
makes a recursive network map a tree of any size to a fixed-size vector.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnlab.cells.base import check_size

State = tuple[Tensor, ...]


class TreeCell(nn.Module):
    input_size: int
    hidden_size: int
    arity: int | None = None
    state_parts: int = 1
    internals: tuple[str, ...] = ()

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        name = type(self).__name__
        self.input_size = check_size(name, "input_size", input_size)
        self.hidden_size = check_size(name, "hidden_size", hidden_size)

    @property
    def output_size(self) -> int:
        return self.hidden_size

    def step(self, x: Tensor, children: State, mask: Tensor) -> tuple[State, dict[str, Tensor]]:
        raise NotImplementedError

    def forward(self, x: Tensor, children: State, mask: Tensor) -> State:
        return self.step(x, children, mask)[0]


def pad_children(children: State, arity: int) -> State:
    """Children (M, K, H) padded with zero states to (M, arity, H): a cell with weights per child
    position reads a missing child as zeros (a batch's widest node may have fewer than `arity`)."""
    K = children[0].shape[1]
    if K == arity:
        return children
    return tuple(torch.cat([c, c.new_zeros(c.shape[0], arity - K, c.shape[2])], 1) for c in children)


def concat_children(h: Tensor) -> Tensor:
    """(M, K, H) → (M, K·H): the children side by side, as [h_l; h_r] in the recursive net."""
    return h.reshape(h.shape[0], -1)


def child_mean(h: Tensor, mask: Tensor) -> Tensor:
    """(M, K, H), (M, K) → (M, H): the mean of the present children (zeros at leaves)."""
    count = mask.sum(1, keepdim=True).clamp(min=1).to(h.dtype)
    return h.sum(1) / count  # absent children are zeros, so the sum is over present ones
