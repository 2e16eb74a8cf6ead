"""Recursive networks over trees: batched trees, tree cells (recursive net, RNTN, Child-Sum and
N-ary Tree-LSTM, Tree-GRU), the level-wise bottom-up layer and the top-down pass."""
from rnnlab.tree.base import TreeCell
from rnnlab.tree.batch import IGNORE, TreeBatch
from rnnlab.tree.child_sum import ChildSumTreeLSTMCell
from rnnlab.tree.gru import TreeGRUCell
from rnnlab.tree.layer import TreeLayer, TreeOutput
from rnnlab.tree.nary import NaryTreeLSTMCell
from rnnlab.tree.recursive import RecursiveCell
from rnnlab.tree.registry import TREE_CELLS, make_tree_cell
from rnnlab.tree.rntn import TensorCell
from rnnlab.tree.top_down import TopDown

__all__ = ["TreeCell", "TreeBatch", "IGNORE", "TreeLayer", "TreeOutput", "TopDown", "RecursiveCell", "TensorCell",
           "ChildSumTreeLSTMCell", "NaryTreeLSTMCell", "TreeGRUCell", "TREE_CELLS", "make_tree_cell"]
