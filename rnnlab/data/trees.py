"""Trees as data: labelled constituency trees in PTB bracket form, and trees for plain text.

A line such as `(3 (2 It) (4 (4 works) (2 .)))` is one tree: every node is `(LABEL CHILD...)`, a
leaf is `(LABEL WORD)`. This is the Stanford Sentiment Treebank's format (every node carries a
sentiment label 0–4). Words are PTB-escaped in the files; the reader undoes the escapes
(`-LRB-` → `(`, `\\/` → `/`, ...) so a word reads the same as in plain text, and `format_tree`
escapes them again.

Plain text has no parse. `balanced_tree` and `right_branching_tree` make one from the tokens
alone — a fixed shape, not a parse; the predictor says which it used.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from rnnlab.errors import DataError, DataNotFoundError

# PTB token escapes (the brackets would otherwise end a node) and what they stand for
ESCAPES = {"-LRB-": "(", "-RRB-": ")", "-LSB-": "[", "-RSB-": "]", "-LCB-": "{", "-RCB-": "}"}
UNESCAPES = {v: k for k, v in ESCAPES.items()}
SPLIT_FILES = {"train": "train.txt", "valid": "dev.txt", "test": "test.txt"}


@dataclass(frozen=True)
class Tree:
    """A node: a leaf has a `word` and no children; an inner node has children and no word.
    `label` is the node's gold label as written (None: unlabelled, e.g. a tree made for text)."""
    label: str | None
    children: tuple["Tree", ...] = ()
    word: str | None = None

    def __post_init__(self):
        if (self.word is None) == (not self.children):
            raise DataError("a tree node has either a word (a leaf) or children, not both or neither")

    @property
    def is_leaf(self) -> bool:
        return self.word is not None

    def leaves(self) -> list[str]:
        return [n.word for n in self.nodes() if n.is_leaf]

    def nodes(self) -> Iterator["Tree"]:
        """Every node, children before their parent (post-order), the root last."""
        stack: list[tuple[Tree, bool]] = [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded or node.is_leaf:
                yield node
            else:
                stack.append((node, True))
                stack.extend((c, False) for c in reversed(node.children))

    def __len__(self) -> int:
        return sum(1 for _ in self.nodes())

    def height(self) -> int:
        return 0 if self.is_leaf else 1 + max(c.height() for c in self.children)

    def relabel(self, mapping) -> "Tree":
        """The same shape with every label `l` replaced by `mapping(l)` (None: unlabelled)."""
        if self.is_leaf:
            return Tree(mapping(self.label), word=self.word)
        return Tree(mapping(self.label), tuple(c.relabel(mapping) for c in self.children))


def unescape(word: str) -> str:
    return ESCAPES.get(word, word).replace("\\/", "/").replace("\\*", "*")


def escape(word: str) -> str:
    return UNESCAPES.get(word, word.replace("/", "\\/").replace("*", "\\*"))


def parse_tree(text: str, where: str = "tree") -> Tree:
    """One bracketed tree; DataError naming `where` and the character position when malformed."""
    tokens = _tokens(text)
    if not tokens:
        raise DataError(f"{where}: empty line, expected a bracketed tree such as (3 (2 a) (3 b))")
    pos = 0

    def fail(why: str):
        at = tokens[pos][1] if pos < len(tokens) else len(text)
        raise DataError(f"{where}: {why} at character {at}")

    def node() -> Tree:
        nonlocal pos
        if pos >= len(tokens) or tokens[pos][0] != "(":
            fail("expected '('")
        pos += 1
        if pos >= len(tokens) or tokens[pos][0] in "()":
            fail("expected a label after '('")
        label = tokens[pos][0]
        pos += 1
        if pos < len(tokens) and tokens[pos][0] not in "()":  # (LABEL WORD)
            # a word may hold spaces: the SST has the one token "8 1\/2"
            start = pos
            while pos < len(tokens) and tokens[pos][0] not in "()":
                pos += 1
            word = " ".join(unescape(t) for t, _ in tokens[start:pos])
            if pos >= len(tokens) or tokens[pos][0] != ")":
                fail("a leaf holds a word and no child nodes; expected ')'")
            pos += 1
            return Tree(label, word=word)
        children = []
        while pos < len(tokens) and tokens[pos][0] == "(":
            children.append(node())
        if not children:
            fail("expected a word or a child node")
        if pos >= len(tokens) or tokens[pos][0] != ")":
            fail("expected ')'")
        pos += 1
        return Tree(label, tuple(children))

    tree = node()
    if pos != len(tokens):
        fail("text after the end of the tree")
    return tree


def _tokens(text: str) -> list[tuple[str, int]]:
    """'(' , ')' and runs of other non-space characters, with their start positions."""
    out, i, n = [], 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            out.append((ch, i))
            i += 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in "()":
                j += 1
            out.append((text[i:j], i))
            i = j
    return out


def format_tree(tree: Tree) -> str:
    """The bracket form `parse_tree` reads (words escaped; an unlabelled node is written '_')."""
    label = "_" if tree.label is None else tree.label
    if tree.is_leaf:
        return f"({label} {escape(tree.word)})"
    return f"({label} " + " ".join(format_tree(c) for c in tree.children) + ")"


def read_trees(path: str | Path) -> list[Tree]:
    """Every non-empty line of a file as a tree."""
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"{path}: no such file")
    lines = path.read_text(encoding="utf-8").splitlines()
    trees = [parse_tree(line, f"{path}, line {i}") for i, line in enumerate(lines, 1) if line.strip()]
    if not trees:
        raise DataError(f"{path}: no trees")
    return trees


def read_tree_dir(directory: str | Path) -> dict[str, list[Tree]]:
    """{train, valid, test} from a directory holding train.txt, dev.txt and test.txt (the SST layout)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DataNotFoundError(f"{directory}: no such data directory")
    missing = [f for f in SPLIT_FILES.values() if not (directory / f).is_file()]
    if missing:
        raise DataNotFoundError(f"{directory}: missing {', '.join(missing)} (a tree directory holds train.txt, "
                                f"dev.txt and test.txt, one bracketed tree per line)")
    return {split: read_trees(directory / name) for split, name in SPLIT_FILES.items()}


def balanced_tree(words: Sequence[str]) -> Tree:
    """A binary tree over `words` splitting each span in the middle (the left half gets the extra
    word) — a fixed shape for text without a parse, every node unlabelled."""
    if not words:
        raise DataError("cannot make a tree of no words")
    if len(words) == 1:
        return Tree(None, word=words[0])
    mid = (len(words) + 1) // 2
    return Tree(None, (balanced_tree(words[:mid]), balanced_tree(words[mid:])))


def right_branching_tree(words: Sequence[str]) -> Tree:
    """(w1 (w2 (w3 ...))): the binary tree a left-to-right reading makes, every node unlabelled."""
    if not words:
        raise DataError("cannot make a tree of no words")
    tree = Tree(None, word=words[-1])
    for w in reversed(words[:-1]):
        tree = Tree(None, (Tree(None, word=w), tree))
    return tree


SHAPES = {"balanced": balanced_tree, "right": right_branching_tree}


def text_tree(text: str, shape: str = "balanced") -> Tree:
    """A bracketed tree as written, or a `shape` tree over the whitespace tokens of plain text."""
    if text.lstrip().startswith("("):
        return parse_tree(text, "input")
    if shape not in SHAPES:
        raise DataError(f"tree shape must be one of {', '.join(SHAPES)}, got {shape!r}")
    return SHAPES[shape](text.split())


def sst_binary(label: str | None) -> str | None:
    """The Sentiment Treebank's binary scheme: 0–1 → "negative", 3–4 → "positive", 2 (neutral) → None."""
    if label is None:
        return None
    if label not in ("0", "1", "2", "3", "4"):
        raise DataError(f"binary labels map the five SST classes 0–4; got the label {label!r}")
    return None if label == "2" else "negative" if label < "2" else "positive"
