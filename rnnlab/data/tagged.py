"""Readers for tagged sentences: one label per word (BIO slot tags, POS tags) and an optional
sentence label (the intent).

Three layouts are read:

- ATIS as commonly distributed (`read_atis`): a directory with `train/`, `valid/` (or `dev/`) and
  `test/`, each holding `seq.in` (one utterance per line, words separated by spaces), `seq.out`
  (the tags, aligned word for word) and, optionally, `label` (one intent per line).
- CoNLL (`read_conll`): one `word ... tag` per line — the first column is the word, the last the
  tag, columns split on whitespace — with blank lines between sentences; `-DOCSTART-` lines
  are skipped.
- One sentence per line (`read_tab_tagged`): `words<TAB>tags`, optionally `<TAB>intent`.

Every error names the file and the line, since a misaligned tag is usually one bad line in
thousands. Tags are checked to be `O`, `B-type` or `I-type` unless `bio=False` (for POS tags).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from rnnlab.errors import DataError, DataNotFoundError

ATIS_SPLITS = ("train", "valid", "test")
_ATIS_ALIASES = {"valid": ("valid", "dev")}  # some copies call the validation split dev
_BIO_TAG = re.compile(r"O|[BI]-\S+")
DOCSTART = "-DOCSTART-"


@dataclass
class TaggedExample:
    """A sentence, one tag per word, and its intent (None when the corpus has none)."""
    words: list[str]
    tags: list[str]
    intent: str | None = None

    def __post_init__(self):
        if len(self.words) != len(self.tags):
            raise DataError(f"{len(self.words)} words but {len(self.tags)} tags: {' '.join(self.words)!r}")
        if not self.words:
            raise DataError("a tagged example needs at least one word")


def read_atis(path: str | os.PathLike, *, bio: bool = True) -> dict[str, list[TaggedExample]]:
    """Every split found under `path` ("train" is required; "valid" may be named "dev")."""
    root = Path(path).expanduser()
    if not root.is_dir():
        what = "is a file, not a directory" if root.exists() else "does not exist"
        raise DataNotFoundError(f"ATIS directory {root} {what}; expected {root}/train/seq.in, seq.out, label")
    if not (root / "train").is_dir():
        found = sorted(p.name for p in root.iterdir() if p.is_dir())
        raise DataNotFoundError(f"ATIS directory {root} has no train/ subdirectory "
                                f"(found: {', '.join(found) or 'no subdirectories'})")
    splits = {}
    for split in ATIS_SPLITS:
        for name in _ATIS_ALIASES.get(split, (split,)):
            if (root / name).is_dir():
                splits[split] = _read_atis_split(root / name, bio)
                break
    return splits


def _read_atis_split(folder: Path, bio: bool) -> list[TaggedExample]:
    seq_in, seq_out, label = folder / "seq.in", folder / "seq.out", folder / "label"
    for file in (seq_in, seq_out):
        if not file.is_file():
            raise DataNotFoundError(f"{file} does not exist (an ATIS split needs seq.in and seq.out; label is optional)")
    words, tags = _lines(seq_in), _lines(seq_out)
    intents = _lines(label) if label.is_file() else None
    for file, lines in ((seq_out, tags), (label, intents)):
        if lines is not None and len(lines) != len(words):
            raise DataError(f"{file} has {len(lines)} lines but {seq_in} has {len(words)}; "
                            f"they must be aligned line for line")
    examples = []
    for i, (w, t) in enumerate(zip(words, tags)):
        w, t = w.split(), t.split()
        if not w:
            raise DataError(f"{seq_in} line {i + 1}: empty utterance")
        if len(w) != len(t):
            raise DataError(f"{seq_out} line {i + 1}: {len(t)} tags for the {len(w)} words of {seq_in} line {i + 1}")
        if bio:
            _check_tags(t, seq_out, i + 1)
        intent = None
        if intents is not None:
            intent = intents[i].strip()
            if not intent or len(intent.split()) != 1:
                raise DataError(f"{label} line {i + 1}: expected one intent, got {intents[i]!r}")
        examples.append(TaggedExample(w, t, intent))
    return examples


def read_conll(path: str | os.PathLike, *, bio: bool = True) -> list[TaggedExample]:
    """Sentences of a CoNLL-style file: `word [other columns] tag` per line, blank line between sentences."""
    file = Path(path).expanduser()
    examples: list[TaggedExample] = []
    words: list[str] = []
    tags: list[str] = []
    for n, line in enumerate(_lines(file), start=1):
        cols = line.split()
        if not cols or cols[0] == DOCSTART:
            if words:
                examples.append(TaggedExample(words, tags))
                words, tags = [], []
            continue
        if len(cols) < 2:
            raise DataError(f"{file} line {n}: expected 'word tag' (columns separated by spaces or tabs), got {line!r}")
        if looks_tab_separated(line):
            raise DataError(f"{file} line {n}: a tab-separated column holds several tokens ({line[:60]!r}): "
                            f"CoNLL has one token per column; a sentence per line is 'words<TAB>tags'")
        if bio:
            _check_tags(cols[-1:], file, n)
        words.append(cols[0])
        tags.append(cols[-1])
    if words:
        examples.append(TaggedExample(words, tags))
    if not examples:
        raise DataError(f"{file} has no sentences (only blank or {DOCSTART} lines)")
    return examples


def read_tab_tagged(path: str | os.PathLike, *, bio: bool = True) -> list[TaggedExample]:
    """One sentence per line: `words<TAB>tags` or `words<TAB>tags<TAB>intent`; blank lines skipped."""
    file = Path(path).expanduser()
    examples = []
    for n, line in enumerate(_lines(file), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) not in (2, 3):
            raise DataError(f"{file} line {n}: expected 'words<TAB>tags' or 'words<TAB>tags<TAB>intent', "
                            f"found {len(fields)} tab-separated field(s)")
        words, tags = fields[0].split(), fields[1].split()
        if not words:
            raise DataError(f"{file} line {n}: no words before the tab")
        if len(words) != len(tags):
            raise DataError(f"{file} line {n}: {len(words)} words but {len(tags)} tags")
        if bio:
            _check_tags(tags, file, n)
        intent = None
        if len(fields) == 3:
            intent = fields[2].strip()
            if not intent or len(intent.split()) != 1:
                raise DataError(f"{file} line {n}: expected one intent after the second tab, got {fields[2]!r}")
        examples.append(TaggedExample(words, tags, intent))
    if not examples:
        raise DataError(f"{file} has no sentences (only blank lines)")
    return examples


def looks_tab_separated(line: str) -> bool:
    """A `words<TAB>tags` line: it has a tab, and one of its first two tab-separated fields holds
    several tokens (a CoNLL column holds one token, whether tabs or spaces separate them)."""
    return "\t" in line and any(len(field.split()) > 1 for field in line.split("\t")[:2])


def _check_tags(tags: list[str], file: Path, line: int) -> None:
    for tag in tags:
        if not _BIO_TAG.fullmatch(tag):
            raise DataError(f"{file} line {line}: tag {tag!r} is not O, B-type or I-type "
                            f"(pass bio=False to read other tag sets)")


def _lines(file: Path) -> list[str]:
    """The lines of a UTF-8 text file without line ends; errors for a missing, unreadable or empty file."""
    if not file.exists():
        raise DataNotFoundError(f"{file} does not exist")
    if not file.is_file():
        raise DataError(f"{file} is not a file")
    try:
        text = file.read_bytes().decode("utf-8-sig")  # a byte-order mark is not part of the first word
    except UnicodeDecodeError as e:
        raise DataError(f"{file} is not UTF-8 text (byte {e.start}: {e.reason})") from None
    except OSError as e:
        raise DataError(f"cannot read {file}: {e.strerror or e}") from None
    lines = [line.removesuffix("\r") for line in text.split("\n")]  # not splitlines: it also splits on \x1c, \u2028, ...
    if lines[-1] == "":
        lines.pop()
    if not any(line.strip() for line in lines):
        raise DataError(f"{file} is empty")
    return lines
