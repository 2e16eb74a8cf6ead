"""A tagging data directory in whichever layout it has: ATIS's (`train/seq.in`, `seq.out`,
`label`, per split), or one file per split named `train`, `valid` (or `dev`), `test` with
`.txt`, `.tsv` or `.conll` — each either CoNLL-style (one `word … tag` per line, blank lines
between sentences) or one sentence per line (`words<TAB>tags[<TAB>intent]`), told apart by
their lines (`sniff_layout`). A file that is not valid in the layout it looks most like is an
error naming the file and line — never read in the other layout as garbage."""
from __future__ import annotations

from pathlib import Path

from rnnlab.data.tagged import TaggedExample, looks_tab_separated, read_atis, read_conll, read_tab_tagged
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
    """'tab' or 'conll': the layout most of the file's first 200 lines look like.

    A line looks like the tab layout when a tab-separated field holds several words or tags
    (`fly to boston<TAB>O O B-to`): CoNLL columns hold one token each, whatever separates them.
    It looks like CoNLL when it has no tab and several columns (`EU B-ORG`). A line with one
    token per tab field (`fly<TAB>O`) fits both; a file of only such lines is read as CoNLL. The
    reader of the chosen layout then refuses every line that does not fit it.
    """
    with open(file, encoding="utf-8", errors="replace") as f:
        lines = [line.rstrip("\r\n") for _, line in zip(range(200), f) if line.strip()]
    tab = sum(1 for line in lines if looks_tab_separated(line))
    conll = sum(1 for line in lines if "\t" not in line and len(line.split()) > 1)
    return "tab" if tab > conll else "conll"
