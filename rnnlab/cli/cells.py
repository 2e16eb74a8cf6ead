"""`rnnlab cells`: the cell names `--cell` accepts."""
from __future__ import annotations

import argparse

from rnnlab.cells.registry import CELLS


def register(subparsers, argv=()) -> None:
    p = subparsers.add_parser("cells", help="list the recurrent cells --cell accepts")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    width = max(map(len, CELLS))
    for name, (_, description) in CELLS.items():
        print(f"{name:<{width}}  {description}")
    return 0
