"""The PTB bracket reader: labels on every node, escapes undone (and redone by format_tree),
words holding spaces, malformed input named with its position, and trees for plain text."""
from pathlib import Path

import pytest

from rnnlab.data.trees import (Tree, balanced_tree, format_tree, parse_tree, read_tree_dir, read_trees,
                               right_branching_tree, text_tree)
from rnnlab.errors import DataError, DataNotFoundError


def test_parse_labels_and_words():
    t = parse_tree("(3 (2 It) (4 (4 works) (2 .)))")
    assert t.label == "3" and t.leaves() == ["It", "works", "."]
    assert [n.label for n in t.nodes()] == ["2", "4", "2", "4", "3"]  # post-order, root last
    assert t.height() == 2 and len(t) == 5


def test_escapes_undone_and_redone():
    text = "(2 (2 -LRB-) (2 (2 1\\/2) (2 -RRB-)))"
    t = parse_tree(text)
    assert t.leaves() == ["(", "1/2", ")"]
    assert format_tree(t) == text


def test_word_with_space():
    """The SST writes the one token '8 1/2' as (2 8 1\\/2)."""
    t = parse_tree("(2 (2 Fellini) (2 8 1\\/2))")
    assert t.leaves() == ["Fellini", "8 1/2"]
    assert parse_tree(format_tree(t)) == t


@pytest.mark.parametrize("bad, why", [("", "empty"), ("(3 (2 a)", "expected '\\)'"), ("(3 (2 a) (2 b)) x", "after the end"),
                                      ("(3)", "word or a child"), ("((2 a))", "label"), ("(2 a (2 b))", "expected '\\)'")])
def test_malformed(bad, why):
    with pytest.raises(DataError, match=why):
        parse_tree(bad)


def test_plain_text_shapes():
    assert format_tree(balanced_tree("a b c".split())) == "(_ (_ (_ a) (_ b)) (_ c))"
    assert format_tree(right_branching_tree("a b c".split())) == "(_ (_ a) (_ (_ b) (_ c)))"
    assert text_tree("(1 (2 x) (0 y))").label == "1"
    assert text_tree("x y", "right").leaves() == ["x", "y"]
    with pytest.raises(DataError):
        balanced_tree([])
    with pytest.raises(DataError, match="shape"):
        text_tree("x y", "left")


def test_node_needs_word_or_children():
    with pytest.raises(DataError):
        Tree("1")


def test_read_dir(tmp_path: Path):
    (tmp_path / "train.txt").write_text("(1 (2 a) (0 b))\n\n(3 c)\n")
    (tmp_path / "dev.txt").write_text("(1 a)\n")
    with pytest.raises(DataNotFoundError, match="test.txt"):
        read_tree_dir(tmp_path)
    (tmp_path / "test.txt").write_text("(4 a\n")
    with pytest.raises(DataError, match="test.txt, line 1"):
        read_tree_dir(tmp_path)
    (tmp_path / "test.txt").write_text("(4 a)\n")
    splits = read_tree_dir(tmp_path)
    assert {k: len(v) for k, v in splits.items()} == {"train": 2, "valid": 1, "test": 1}
    with pytest.raises(DataNotFoundError):
        read_trees(tmp_path / "nope.txt")


def test_sst_dev_reads(benchmark_data):
    trees = read_trees(benchmark_data("sst") / "dev.txt")
    assert len(trees) == 1101
    assert all(len(n.children) in (0, 2) for t in trees[:50] for n in t.nodes())
