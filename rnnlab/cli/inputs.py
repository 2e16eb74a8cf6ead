"""Raw inputs of the prediction commands: the arguments, or the lines of standard input."""
from __future__ import annotations

import sys

from rnnlab.errors import DataError


def read_inputs(given: list[str], what: str) -> list[str]:
    """The arguments, or the non-blank lines of standard input when there are none."""
    lines = given or [line for line in sys.stdin.read().splitlines() if line.strip()]
    if not lines or any(not line.strip() for line in lines):
        raise DataError(f"nothing to {what}: give the inputs as arguments or on standard input (one per line)")
    return lines
