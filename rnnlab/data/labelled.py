"""Labelled sequences for sequence classification: one line per example, `label<TAB>text`.

    positive<TAB>a film worth seeing twice
    odd<TAB>0111

The text is split into tokens at one of two levels: "word" (on whitespace) or "char" (every
character, spaces included). Blank lines are skipped. Every error names the file and the line,
since a bad example is usually one line in thousands; the file is decoded line by line so that
even an encoding error points at its line.

A data directory holds `train`, `valid` and (optionally) `test`, each as `{split}.tsv` or
`{split}.txt`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rnnlab.errors import DataError, DataNotFoundError

LEVELS = ("word", "char")
SPLITS = ("train", "valid", "test")
REQUIRED_SPLITS = ("train", "valid")
SUFFIXES = (".tsv", ".txt")

Level = Literal["word", "char"]


@dataclass(frozen=True)
class LabelledExample:
    """A sequence of tokens and its class. Frozen (and tokens a tuple) so examples can be hashed,
    e.g. to check that no example is in two splits."""
    tokens: tuple[str, ...]
    label: str

    def __post_init__(self):
        object.__setattr__(self, "tokens", tuple(self.tokens))  # a list is accepted, a tuple is kept
        if not self.tokens:
            raise DataError(f"a labelled example needs at least one token (label {self.label!r})")
        if not all(isinstance(t, str) and t for t in self.tokens):
            raise DataError(f"tokens must be non-empty strings, got {list(self.tokens)[:10]!r}")
        if not isinstance(self.label, str) or not self.label.strip():
            raise DataError(f"a labelled example needs a non-empty label, got {self.label!r}")


def split_text(text: str, level: Level) -> list[str]:
    """The tokens of `text`: whitespace-separated words, or its characters."""
    if level not in LEVELS:
        raise DataError(f"unknown token level {level!r}; choose 'word' or 'char'")
    return text.split() if level == "word" else list(text)


def read_labelled(path: str | os.PathLike, level: Level = "word") -> list[LabelledExample]:
    """The examples of one `label<TAB>text` file (split on the first tab; later tabs are text)."""
    if level not in LEVELS:
        raise DataError(f"unknown token level {level!r}; choose 'word' or 'char'")
    file = Path(path).expanduser()
    examples = []
    for n, line in _numbered_lines(file):
        if not line.strip():
            continue
        label, tab, text = line.partition("\t")
        if not tab:
            raise DataError(f"{file} line {n}: expected 'label<TAB>text', found no tab in {_clip(line)!r}")
        label = label.strip()
        if not label:
            raise DataError(f"{file} line {n}: empty label before the tab")
        if not text.strip():
            raise DataError(f"{file} line {n}: empty text after the tab (label {label!r})")
        examples.append(LabelledExample(split_text(text, level), label))
    if not examples:
        raise DataError(f"{file} has no examples (it is empty or has only blank lines)")
    return examples


def read_labelled_dir(path: str | os.PathLike, level: Level = "word") -> dict[str, list[LabelledExample]]:
    """{"train", "valid"[, "test"]}: each split from `{split}.tsv` or `{split}.txt` under `path`."""
    root = Path(path).expanduser()
    if not root.is_dir():
        what = "is a file, not a directory" if root.exists() else "does not exist"
        raise DataNotFoundError(f"data directory {root} {what}; expected train.tsv and valid.tsv "
                                f"(or .txt) with 'label<TAB>text' lines")
    splits = {}
    for split in SPLITS:
        found = [root / f"{split}{suffix}" for suffix in SUFFIXES if (root / f"{split}{suffix}").is_file()]
        if len(found) > 1:
            raise DataError(f"{root} has both {found[0].name} and {found[1].name}; keep one of them")
        if found:
            splits[split] = read_labelled(found[0], level)
    missing = [s for s in REQUIRED_SPLITS if s not in splits]
    if missing:
        present = sorted(p.name for p in root.iterdir() if p.is_file())
        raise DataNotFoundError(f"data directory {root} has no {' or '.join(missing)} split: expected "
                                + ", ".join(f"{s}.tsv or {s}.txt" for s in missing)
                                + f" (found: {', '.join(present) or 'no files'})")
    return splits


def _numbered_lines(file: Path):
    """(line number, text) for each line of a UTF-8 file, without line ends; errors name the line."""
    if not file.exists():
        raise DataNotFoundError(f"{file} does not exist")
    if not file.is_file():
        raise DataError(f"{file} is not a file")
    try:
        data = file.read_bytes()
    except OSError as e:
        raise DataError(f"cannot read {file}: {e.strerror or e}") from None
    data = data.removeprefix(b"\xef\xbb\xbf")  # a byte-order mark is not part of the first label
    raw = data.split(b"\n")  # not splitlines: that would also split on \x1c, \u2028, ...
    if raw[-1] == b"":
        raw.pop()
    for n, line in enumerate(raw, start=1):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as e:
            raise DataError(f"{file} line {n}: not UTF-8 text (byte {e.start + 1} of the line: {e.reason})") from None
        yield n, text.removesuffix("\r")


def _clip(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[:width] + "..."
