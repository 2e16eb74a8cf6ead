"""TreeClassifier: logits for every node, the same for a tree alone as inside a batch (both
directions), rebuilt from its config, and bad sizes refused."""
import pytest
import torch

from rnnlab.data.trees import parse_tree
from rnnlab.errors import ConfigError, DataError
from rnnlab.tree.batch import TreeBatch
from rnnlab.tree.model import TreeClassifier

TREES = [parse_tree(t) for t in ("(1 (2 a) (3 (4 b) (0 c)))", "(2 d)", "(3 (2 (2 a) (1 e)) (4 (2 b) (3 d)))")]
IDS = {w: i for i, w in enumerate("abcde")}


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell", ["tree-lstm", "rntn", "tree-gru"])
def test_batch_equals_alone(cell, bidirectional):
    torch.manual_seed(0)
    model = TreeClassifier.build(5, 5, cell=cell, hidden_size=6, embedding_size=4, bidirectional=bidirectional).double()
    model.eval()
    batch = TreeBatch.from_trees(TREES, IDS.__getitem__)
    together = model(batch)
    assert together.shape == (batch.num_nodes, 5)
    alone = torch.cat([model(TreeBatch.from_trees([t], IDS.__getitem__)) for t in TREES])
    torch.testing.assert_close(together, alone)
    again = TreeClassifier.from_config(model.config())
    assert again.config() == model.config()
    assert set(dict(again.named_parameters())) == set(dict(model.named_parameters()))


def test_bidirectional_root_sees_nothing_new_but_leaves_do():
    """The top-down pass gives a leaf its context: the same leaf word under different trees reads
    differently only with bidirectional."""
    torch.manual_seed(0)
    for bidirectional, differs in ((False, False), (True, True)):
        model = TreeClassifier.build(5, 3, hidden_size=4, embedding_size=4, bidirectional=bidirectional).eval()
        one = model(TreeBatch.from_trees([parse_tree("(1 (2 a) (3 b))")], IDS.__getitem__))[0]
        two = model(TreeBatch.from_trees([parse_tree("(1 (2 a) (3 c))")], IDS.__getitem__))[0]
        assert (not torch.allclose(one, two)) == differs


def test_errors():
    with pytest.raises(ConfigError, match="unknown tree cell"):
        TreeClassifier.build(5, 3, cell="lstm")
    with pytest.raises(ConfigError):
        TreeClassifier.build(5, 1)
    model = TreeClassifier.build(3, 2, hidden_size=4, embedding_size=4)
    with pytest.raises(DataError, match="token ids"):
        model(TreeBatch.from_trees(TREES[2:], IDS.__getitem__))
