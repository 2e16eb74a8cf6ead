"""The generated sentiment treebank: labels follow the stated composition rule, splits are
disjoint and deterministic, and the root label depends on the tree, not just the words."""
import pytest

from rnnlab.data.trees import Tree, parse_tree
from rnnlab.datasets.trees import _build, tree_data
from rnnlab.errors import ConfigError


def _check(node: Tree) -> int:
    if node.is_leaf:
        v = 1 if node.word in ("good", "great", "fine", "funny", "smart") else \
            -1 if node.word in ("bad", "dull", "awful", "boring", "weak") else 0
    else:
        left, right = node.children
        lv, rv = _check(left), _check(right)
        if left.is_leaf and left.word == "not":
            v = -rv
        elif left.is_leaf and left.word == "very":
            v = max(-2, min(2, 2 * rv))
        else:
            v = max(-2, min(2, lv + rv))
    assert node.label == str(v + 2)
    return v


def test_labels_follow_the_rule_and_splits_are_disjoint():
    data = tree_data("polarity", 300, 50, 50, seed=1)
    assert {k: len(v) for k, v in data.items()} == {"train": 300, "valid": 50, "test": 50}
    for trees in data.values():
        for t in trees:
            _check(t)
            assert 2 <= len(t.leaves()) <= 10
    keys = [{repr(t) for t in trees} for trees in data.values()]
    assert not (keys[0] & keys[1]) and not (keys[0] & keys[2]) and not (keys[1] & keys[2])
    assert repr(tree_data("polarity", 300, 50, 50, seed=1)) == repr(data)
    roots = {t.label for t in data["train"]}
    assert len(roots) == 5  # every class occurs at the root


def test_same_words_different_trees_differ():
    import random
    _check(parse_tree("(1 (2 not) (3 (3 good) (2 film)))"))
    # the same word multiset under another bracketing can give another root label
    class R(random.Random):
        def __init__(self, cuts):
            super().__init__(0)
            self.cuts = list(cuts)

        def randint(self, lo, hi):
            return self.cuts.pop(0)
    _, v1 = _build(["not", "good", "bad"], R([1, 1]))  # (not (good bad))
    _, v2 = _build(["not", "good", "bad"], R([2, 1]))  # ((not good) bad)
    assert v1 == 0 and v2 == -2


def test_bad_arguments():
    with pytest.raises(ConfigError, match="unknown tree dataset"):
        tree_data("nope", 10, 10, 10)
    with pytest.raises(ConfigError):
        tree_data("polarity", 10, 10, 10, min_len=5, max_len=3)
