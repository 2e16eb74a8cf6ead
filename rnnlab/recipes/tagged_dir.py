"""A tagging data directory in whichever layout it has: ATIS's (`train/seq.in`, `seq.out`,
`label`, per split), or one file per split named `train`, `valid` (or `dev`), `test` with
`.txt`, `.tsv` or `.conll` — each either CoNLL-style (one `word … tag` per line, blank lines
between sentences) or one sentence per line (`words<TAB>tags[<TAB>intent]`), told apart by
their lines."""
from __future__ import annotations

from pathlib import Path

from rnnlab.data.tagged import TaggedExample, read_atis, read_conll, read_tab_tagged
from rnnlab.errors import DataError, DataNotFoundError

SUFFIXES = (".txt", ".tsv", ".conll")


def read_tagged_dir(path) -> tuple[dict[str, list[TaggedExample]], str]:
    """(splits, layout name) of a data directory in ATIS, CoNLL or tab layout."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DataNotFoundError(f"data directory {root} {'is a file' if root.exists() else 'does not exist'}")
    if (root / "train").is_dir():
        return read_atis(root), "atis"
    splits, layouts = {}, set()
    for split in ("train", "valid", "test"):
        files = [root / f"{split}{suffix}" for suffix in SUFFIXES if (root / f"{split}{suffix}").is_file()]
        if split == "valid" and not files:
            files = [root / f"dev{suffix}" for suffix in SUFFIXES if (root / f"dev{suffix}").is_file()]
        if len(files) > 1:
            raise DataError(f"{root}: more than one file for the {split} split: {', '.join(f.name for f in files)}")
        if not files:
            if split == "test":
                continue
            raise DataNotFoundError(f"{root}: no {split} data; expected {split}/seq.in (ATIS layout) or "
                                    f"{split}.txt / .tsv / .conll")
        layout = sniff_layout(files[0])
        layouts.add(layout)
        splits[split] = read_tab_tagged(files[0]) if layout == "tab" else read_conll(files[0])
    return splits, "+".join(sorted(layouts))


def sniff_layout(file: Path) -> str:
    """'tab' when lines look like `words<TAB>tags` (several words before the tab), else 'conll'."""
    with open(file, encoding="utf-8", errors="replace") as f:
        lines = [line.rstrip("\n") for _, line in zip(range(200), f) if line.strip()]
    tab = [line.split("\t") for line in lines if "\t" in line]
    several = any(len(fields) in (2, 3) and len(fields[0].split()) > 1 and
                  len(fields[0].split()) == len(fields[1].split()) for fields in tab)
    return "tab" if lines and len(tab) == len(lines) and several else "conll"
