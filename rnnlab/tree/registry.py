"""Tree cells by name (what configs and `--cell` say): factories `(input_size, hidden_size) → TreeCell`."""
from __future__ import annotations

from typing import Callable

from rnnlab.errors import ConfigError
from rnnlab.tree.base import TreeCell
from rnnlab.tree.child_sum import ChildSumTreeLSTMCell
from rnnlab.tree.gru import TreeGRUCell
from rnnlab.tree.nary import NaryTreeLSTMCell
from rnnlab.tree.recursive import RecursiveCell
from rnnlab.tree.rntn import TensorCell

TREE_CELLS: dict[str, tuple[Callable[[int, int], TreeCell], str]] = {
    "rnn": (lambda d, h: RecursiveCell(d, h), "recursive net, h = tanh(W[h_l; h_r] + b) (Socher et al. 2011)"),
    "rntn": (lambda d, h: TensorCell(d, h), "recursive neural tensor network (Socher et al. 2013)"),
    "tree-lstm": (lambda d, h: NaryTreeLSTMCell(d, h), "binary N-ary Tree-LSTM (Tai et al. 2015)"),
    "child-sum-lstm": (lambda d, h: ChildSumTreeLSTMCell(d, h), "Child-Sum Tree-LSTM (Tai et al. 2015)"),
    "tree-gru": (lambda d, h: TreeGRUCell(d, h), "Tree-GRU, child-sum with per-child reset gates"),
}


def make_tree_cell(name: str, input_size: int, hidden_size: int) -> TreeCell:
    if name not in TREE_CELLS:
        raise ConfigError(f"unknown tree cell {name!r}; choose one of: {', '.join(TREE_CELLS)}")
    return TREE_CELLS[name][0](input_size, hidden_size)
