"""The built-in corpus: the Python source of the running interpreter's standard library.

Every machine that runs rnnlab has it, so a character-level model can be trained with no
download and no `--data`. It is real, structured text (indentation, nesting, names that recur
far apart), which is what recurrent models are for.

The corpus depends on the running Python's version: 3.11 and 3.12 ship different files. Record
`corpus_info()` (it includes `sys.version`) next to any result that must be reproducible.
"""
from __future__ import annotations

import bisect
import functools
import os
import sys
import sysconfig
import zlib
from pathlib import Path
from typing import NamedTuple

from rnnlab.errors import ConfigError, DataNotFoundError

SPLITS = ("train", "valid", "test")

# Directories left out wherever they occur. Tests (test/, tests/) are a third of the library
# and full of generated data that would dominate the corpus; site- and dist-packages differ
# from machine to machine; idlelib and lib2to3 are applications rather than library code;
# dot-directories are tool caches; encodings/ is mostly generated codec tables (hex literals and
# Unicode names), which made the test split, where they land, look like another language.
EXCLUDED_DIRS = frozenset({"site-packages", "dist-packages", "test", "tests", "idlelib", "lib2to3", "encodings"})


def stdlib_root() -> Path:
    """The directory of the standard library's `.py` files."""
    root = Path(sysconfig.get_paths()["stdlib"])
    if not root.is_dir() or not any(root.glob("*.py")):
        raise DataNotFoundError(f"the Python standard library sources are not at {root} (this Python "
                                f"ships without them); pass --data DIR to train on your own corpus")
    return root


def stdlib_files() -> list[str]:
    """Relative POSIX paths of the corpus's `.py` files, sorted."""
    return list(_files(stdlib_root()))


@functools.lru_cache(maxsize=None)
def _files(root: Path) -> tuple[str, ...]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        # Pruning in place stops os.walk from descending into excluded directories.
        dirnames[:] = [d for d in dirnames if d not in EXCLUDED_DIRS and not d.startswith(".")]
        rel = Path(dirpath).relative_to(root)
        found += [(rel / f).as_posix() for f in filenames if f.endswith(".py")]
    return tuple(sorted(found))


def split_of(relpath: str) -> str:
    """The split a file belongs to: ~90% train, 5% valid, 5% test, by a hash of its path.

    Splitting by file rather than by character keeps each test file's code unseen in training,
    and a hash (not a random draw) keeps the assignment the same on every machine.
    """
    bucket = zlib.crc32(relpath.encode("utf-8")) % 100
    return "train" if bucket < 90 else "valid" if bucket < 95 else "test"


def stdlib_corpus(max_chars: int | None = None) -> dict[str, str]:
    """The train, valid and test texts: each split's files in sorted path order, each ending in "\\n".

    `max_chars` caps train at `max_chars` characters and valid and test at `max_chars // 10`
    (at least 1) each, taking files in order and cutting the last one short. Files that are not
    valid UTF-8 are skipped. The texts are read once per process and cached (tens of MB).
    """
    caps = _caps(max_chars)
    texts = _read(stdlib_root()).texts
    return {s: texts[s][: caps[s]] for s in SPLITS}


def corpus_info(max_chars: int | None = None) -> dict:
    """What `stdlib_corpus(max_chars)` returns, in numbers worth recording beside a result."""
    caps = _caps(max_chars)
    root = stdlib_root()
    corpus = _read(root)
    chars = {s: min(len(corpus.texts[s]), caps[s] or len(corpus.texts[s])) for s in SPLITS}
    # A file is in the (capped) corpus when its text starts before the cap.
    files = {s: bisect.bisect_left(corpus.starts[s], chars[s]) for s in SPLITS}
    return {"python": sys.version, "root": str(root), "max_chars": max_chars, "files": files,
            "chars": chars, "skipped": list(corpus.skipped)}


class _Corpus(NamedTuple):
    texts: dict[str, str]  # split -> concatenated text
    starts: dict[str, tuple[int, ...]]  # split -> offset where each (non-empty) file begins
    skipped: tuple[str, ...]  # files that are not valid UTF-8


@functools.lru_cache(maxsize=None)
def _read(root: Path) -> _Corpus:
    parts: dict[str, list[str]] = {s: [] for s in SPLITS}
    starts: dict[str, list[int]] = {s: [] for s in SPLITS}
    sizes = dict.fromkeys(SPLITS, 0)
    skipped = []
    for rel in _files(root):
        try:
            text = (root / rel).read_bytes().decode("utf-8")
        except (UnicodeDecodeError, OSError):  # OSError: unreadable (permissions, a dangling link)
            skipped.append(rel)
            continue
        if not text:  # empty __init__.py files add nothing
            continue
        text = text.replace("\r\n", "\n")
        if not text.endswith("\n"):
            text += "\n"
        split = split_of(rel)
        parts[split].append(text)
        starts[split].append(sizes[split])
        sizes[split] += len(text)
    return _Corpus({s: "".join(parts[s]) for s in SPLITS}, {s: tuple(starts[s]) for s in SPLITS},
                   tuple(skipped))


def _caps(max_chars: int | None) -> dict[str, int | None]:
    if max_chars is None:
        return dict.fromkeys(SPLITS)
    if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1:
        raise ConfigError(f"max_chars must be a positive integer or None, got {max_chars!r}")
    small = max(max_chars // 10, 1)
    return {"train": max_chars, "valid": small, "test": small}
