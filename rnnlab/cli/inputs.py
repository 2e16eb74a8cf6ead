"""What `rnnlab tag / classify / translate` share: inputs from the arguments or stdin, and a note
(or an error) about tokens the model never saw."""
from __future__ import annotations

import sys

from rnnlab.errors import DataError


def read_inputs(given: list[str], what: str) -> list[str]:
    """The arguments, or the non-blank lines of standard input when there are none."""
    lines = given or [line for line in sys.stdin.read().splitlines() if line.strip()]
    if not lines or any(not line.strip() for line in lines):
        raise DataError(f"nothing to {what}: give the inputs as arguments or on standard input (one per line)")
    return lines


def check_known(command: str, sequences: list[list[str]], vocab, via: str = "") -> None:
    """Unseen tokens: an error when the vocabulary has no <unk>, else a note on stderr."""
    unknown = sorted({t for s in sequences for t in s if t not in vocab})
    if not unknown:
        return
    if vocab.unk is None:
        raise DataError(f"the model never saw these tokens: {' '.join(map(repr, unknown[:10]))}")
    print(f"rnnlab {command}: note: {len(unknown)} token(s) not seen in training, read as {vocab.unk}{via}: "
          f"{' '.join(unknown[:10])}", file=sys.stderr)
