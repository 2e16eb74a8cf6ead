"""`rnnlab COMMAND ...` (also `python -m rnnlab`): train, resume, generate, tag, classify, translate,
eval, explore, gradients, cells.

Errors the user can cause (rnnlab.errors.RnnlabError) are printed as one line and exit with
status 2; anything else is a bug and keeps its traceback.
"""
from __future__ import annotations

import argparse
import sys

from rnnlab.errors import RnnlabError

COMMANDS = ("train", "resume", "generate", "tag", "classify", "translate", "evaluate", "explore", "gradients",
            "cells")  # modules of rnnlab.cli


def build_parser() -> argparse.ArgumentParser:
    import importlib

    from rnnlab import __version__
    parser = argparse.ArgumentParser(
        prog="rnnlab", description="Train, sample from, evaluate and inspect recurrent networks.",
        epilog="`rnnlab COMMAND -h` shows each command's options.")
    parser.add_argument("--version", action="version", version=f"rnnlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"rnnlab.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # `rnnlab tag RUN --format pairs "a sentence"`: argparse leaves positionals given after an
    # option unparsed when the command takes a list of them; they belong to that list
    rest = getattr(args, "rest_into", None)
    if extra and rest and not any(e.startswith("-") for e in extra):
        getattr(args, rest).extend(extra)
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return args.func(args) or 0
    except RnnlabError as e:
        print(f"rnnlab {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"rnnlab {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `rnnlab generate ... | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
