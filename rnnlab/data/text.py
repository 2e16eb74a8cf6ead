"""Reading a user's text corpus from a directory, and splitting text into tokens.

A corpus is a directory with one file per split, either `train.txt`, `valid.txt`, `test.txt` or
the names of Mikolov's Penn Treebank distribution (`ptb.train.txt`, ...), so the PTB download
works as it is unpacked. Every failure is a one-line error naming the file, because this is
where a user's first mistake shows up (a wrong path, a Latin-1 file, an empty split).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from rnnlab.errors import ConfigError, DataError, DataNotFoundError

SPLITS = ("train", "valid", "test")
LEVELS = ("char", "word")
EOS = "<eos>"  # the end-of-line token of the PTB word-level setup
_LAYOUTS = ("{}.txt", "ptb.{}.txt")  # plain first: it wins when a directory has both
_LAYOUTS_TEXT = "train.txt, valid.txt, test.txt or ptb.train.txt, ptb.valid.txt, ptb.test.txt"


def tokenize(text: str, level: str) -> list[str]:
    """Split `text` into characters ("char") or into words ("word").

    Word level is exactly the reader of Zaremba et al. (2014): whitespace-separated words with
    `<eos>` after every line, so perplexities are comparable with the published PTB numbers.
    """
    if level == "char":
        return list(text)
    if level == "word":
        return text.replace("\n", f" {EOS} ").split()
    raise ConfigError(f"unknown tokenization level {level!r}; choose one of {', '.join(LEVELS)}")


def corpus_files(path: str | os.PathLike) -> dict[str, Path]:
    """Which file holds each split in the corpus directory `path`; only existing files are listed.

    A directory uses one layout: the plain one if any of its files exists, else the PTB one.
    Mixing them per split could silently evaluate on another corpus's test set.
    """
    root = Path(path)
    pattern = _layout(root)
    files = {s: root / pattern.format(s) for s in SPLITS}
    return {s: f for s, f in files.items() if f.is_file()}


def _layout(root: Path) -> str:
    """The file-name pattern `root` uses; the plain one when it has neither."""
    for pattern in _LAYOUTS:
        if any((root / pattern.format(s)).is_file() for s in SPLITS):
            return pattern
    return _LAYOUTS[0]


def read_corpus(path: str | os.PathLike, splits: Sequence[str] = SPLITS) -> dict[str, str]:
    """The text of each requested split of the corpus directory `path` (UTF-8, `\\n` line ends)."""
    root = Path(path).expanduser()
    if isinstance(splits, str):  # ("train") is a str, not a tuple: a common slip
        splits = (splits,)
    unknown = [s for s in splits if s not in SPLITS]
    if unknown:
        raise ConfigError(f"unknown corpus split {unknown[0]!r}; choose from {', '.join(SPLITS)}")
    if not root.exists():
        raise DataNotFoundError(f"corpus directory {root} does not exist")
    if not root.is_dir():
        raise DataError(f"corpus path {root} is a file; pass the directory that holds {_LAYOUTS_TEXT}")
    files = corpus_files(root)
    texts = {}
    for split in splits:
        if split not in files:
            missing = _layout(root).format(split)
            raise DataNotFoundError(f"corpus directory {root} has no {missing}; expected {_LAYOUTS_TEXT}")
        texts[split] = _read_text(files[split])
    return texts


def _read_text(file: Path) -> str:
    data = file.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataError(f"{file} is not valid UTF-8: bad byte 0x{data[e.start]:02x} at offset {e.start}; "
                        f"convert it, e.g. iconv -f latin1 -t utf-8") from None
    # A BOM (Windows editors add one) would become a token glued to the first word.
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    if not text.strip():
        raise DataError(f"{file} is empty" + (" (whitespace only)" if text else ""))
    return text
