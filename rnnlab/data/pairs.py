"""Reader for sequence-to-sequence data: one `source<TAB>target` pair per line.

Tokens are the characters of each side (`level="char"`: transliteration, spelling, dates) or
its whitespace-separated words (`level="word"`). Every error names the file and the line.
"""
from __future__ import annotations

import os
from pathlib import Path

from rnnlab.data.labelled import LEVELS, SUFFIXES, split_text
from rnnlab.errors import DataError, DataNotFoundError

__all__ = ["LEVELS", "read_pairs", "read_pairs_dir", "split_text"]


def read_pairs(path: str | os.PathLike, level: str = "char") -> list[tuple[list[str], list[str]]]:
    """(source tokens, target tokens) per non-blank line of `source<TAB>target`."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise DataNotFoundError(f"{file} does not exist" if not file.exists() else f"{file} is not a file")
    try:
        lines = file.read_text(encoding="utf-8").split("\n")
    except UnicodeDecodeError as e:
        raise DataError(f"{file} is not UTF-8 text (byte {e.start})") from None
    pairs = []
    for n, line in enumerate(lines, start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 2:
            raise DataError(f"{file} line {n}: expected 'source<TAB>target', found {len(fields)} tab-separated field(s)")
        src, tgt = (split_text(field, level) for field in fields)
        if not src or not tgt:
            raise DataError(f"{file} line {n}: empty {'source' if not src else 'target'}")
        pairs.append((src, tgt))
    if not pairs:
        raise DataError(f"{file} has no pairs (only blank lines)")
    return pairs


def read_pairs_dir(path: str | os.PathLike, level: str = "char") -> dict[str, list[tuple[list[str], list[str]]]]:
    """{train, valid[, test]} from `{split}.tsv` or `{split}.txt` in a directory (train and valid required)."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DataNotFoundError(f"data directory {root} {'is a file' if root.exists() else 'does not exist'}")
    out = {}
    for split in ("train", "valid", "test"):
        files = [root / f"{split}{s}" for s in SUFFIXES if (root / f"{split}{s}").is_file()]
        if len(files) > 1:
            raise DataError(f"{root}: both {files[0].name} and {files[1].name}; keep one")
        if files:
            out[split] = read_pairs(files[0], level)
        elif split != "test":
            raise DataNotFoundError(f"{root}: no {split}.tsv or {split}.txt")
    return out
