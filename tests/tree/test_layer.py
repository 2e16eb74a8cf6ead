"""The level-wise bottom-up layer and the top-down pass: equal to a naive recursion over each
tree (one node at a time, batch size 1) and to the node-by-node schedule; gradchecked in float64;
padding rows never reach a value or a gradient; trees too wide for a cell are refused."""
import pytest
import torch

from rnnlab.cells.gru import GRUCell
from rnnlab.cells.lstm import LSTMCell
from rnnlab.data.trees import Tree, balanced_tree, parse_tree, right_branching_tree
from rnnlab.errors import DataError
from rnnlab.tree.batch import TreeBatch
from rnnlab.tree.layer import TreeLayer
from rnnlab.tree.reference import recursive_states, top_down_outputs
from rnnlab.tree.registry import TREE_CELLS, make_tree_cell
from rnnlab.tree.top_down import TopDown

TREES = ["(1 (2 a) (3 (4 b) (0 c)))", "(2 d)", "(3 (2 (2 a) (1 e)) (4 (2 (1 b) (2 c)) (3 d)))"]
WORDS = {w: i for i, w in enumerate("abcde")}


def _trees():
    return [parse_tree(t) for t in TREES] + [balanced_tree(list("abcde")), right_branching_tree(list("edcba"))]


def _setup(name, dtype=torch.float64):
    torch.manual_seed(0)
    cell = make_tree_cell(name, 3, 4).to(dtype)
    emb = torch.randn(len(WORDS), 3, dtype=dtype)
    trees = _trees()
    batch = TreeBatch.from_trees(trees, WORDS.__getitem__)
    x = torch.where(batch.has_input.unsqueeze(-1), emb[batch.tokens], torch.zeros((), dtype=dtype))
    return cell, emb, trees, batch, x


def test_batch_layout():
    batch = TreeBatch.from_trees([parse_tree(TREES[0]), parse_tree(TREES[1])], WORDS.__getitem__, int)
    # post-order: a, b, c, (b c), root; then d
    assert batch.tokens.tolist() == [0, 1, 2, 0, 0, 3]
    assert batch.children.tolist() == [[-1, -1], [-1, -1], [-1, -1], [1, 2], [0, 3], [-1, -1]]
    assert batch.height.tolist() == [0, 0, 0, 1, 2, 0]
    assert batch.depth.tolist() == [1, 2, 2, 1, 0, 0]
    assert batch.parent.tolist() == [4, 3, 3, 4, -1, -1]
    assert batch.labels.tolist() == [2, 4, 0, 3, 1, 2]
    assert batch.roots.tolist() == [4, 5]
    assert [g.tolist() for g in batch.levels()] == [[0, 1, 2, 5], [3], [4]]
    assert batch.tree_of().tolist() == [0, 0, 0, 0, 0, 1]


@pytest.mark.parametrize("name", list(TREE_CELLS))
def test_levelwise_equals_recursive_reference_and_node_by_node(name):
    cell, emb, trees, batch, x = _setup(name)
    out = TreeLayer(cell)(batch, x)
    node = TreeLayer(cell, levelwise=False)(batch, x)
    expected = []
    for tree in trees:
        expected += recursive_states(cell, tree, lambda n: emb[WORDS[n.word]] if n.is_leaf
                                     else torch.zeros(3, dtype=torch.float64))
    for p in range(cell.state_parts):
        ref = torch.stack([s[p] for s in expected])
        torch.testing.assert_close(out.state[p], ref, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(node.state[p], ref, rtol=1e-12, atol=1e-12)
    assert len(batch.levels()) == 1 + max(t.height() for t in trees)


@pytest.mark.parametrize("name", list(TREE_CELLS))
def test_layer_gradcheck(name):
    cell, emb, trees, _, _ = _setup(name)
    batch = TreeBatch.from_trees(trees[:2], WORDS.__getitem__)
    x = torch.randn(batch.num_nodes, 3, dtype=torch.float64, requires_grad=True)
    layer = TreeLayer(cell)
    assert torch.autograd.gradcheck(lambda x: layer(batch, x).state, (x,), eps=1e-6, atol=1e-6)


def test_recorded_internals_match_step():
    cell, emb, trees, batch, x = _setup("tree-lstm")
    out = TreeLayer(cell)(batch, x, record=True)
    assert out.internals["f"].shape == (batch.num_nodes, 2, 4)
    torch.testing.assert_close(out.internals["c"], out.state[1])


def test_garbage_in_unused_rows_reaches_nothing():
    """Inner nodes' inputs are zeros by convention; NaN in rows a cell reads as 'absent' must not leak:
    the children gather selects zeros for -1 slots even when row 0 holds NaN."""
    cell, emb, trees, batch, x = _setup("tree-lstm")
    leaf_only = TreeBatch.from_trees([parse_tree("(2 a)"), parse_tree("(1 (2 b) (3 c))")], WORDS.__getitem__)
    x = torch.randn(leaf_only.num_nodes, 3, dtype=torch.float64, requires_grad=True)
    out = TreeLayer(cell)(leaf_only, x)
    out.h.sum().backward()
    assert torch.isfinite(out.h).all() and torch.isfinite(x.grad).all()


def test_too_many_children_refused():
    cell = make_tree_cell("tree-lstm", 3, 4)
    wide = Tree("1", (Tree("2", word="a"), Tree("2", word="b"), Tree("2", word="c")))
    batch = TreeBatch.from_trees([wide], WORDS.__getitem__)
    with pytest.raises(DataError, match="3 children"):
        TreeLayer(cell)(batch, torch.zeros(batch.num_nodes, 3))
    # a child-sum cell takes any number
    TreeLayer(make_tree_cell("child-sum-lstm", 3, 4))(batch, torch.zeros(batch.num_nodes, 3))


def test_wrong_input_shape():
    cell, emb, trees, batch, x = _setup("rnn")
    with pytest.raises(DataError, match="expected"):
        TreeLayer(cell)(batch, x[:-1])


@pytest.mark.parametrize("make", [lambda: LSTMCell(4, 5), lambda: GRUCell(4, 5)])
def test_top_down_equals_recursion_and_gradchecks(make):
    torch.manual_seed(0)
    cell = make().double()
    trees = _trees()
    batch = TreeBatch.from_trees(trees, WORDS.__getitem__)
    x = torch.randn(batch.num_nodes, 4, dtype=torch.float64, requires_grad=True)
    down = TopDown(cell)
    out = down(batch, x)
    start, expected = 0, []
    for tree in trees:
        n = len(tree)
        expected += top_down_outputs(cell, tree, list(x[start:start + n]))
        start += n
    torch.testing.assert_close(out, torch.stack(expected), rtol=1e-12, atol=1e-12)
    small = TreeBatch.from_trees(trees[:2], WORDS.__getitem__)
    xs = torch.randn(small.num_nodes, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: down(small, x), (xs,), eps=1e-6, atol=1e-6)
