"""`rnnlab COMMAND ...` (also `python -m rnnlab`): train, resume, the commands of the registered
recipes (generate, tag, classify, translate), predict, eval, explore, gradients, cells.

Each command module has `register(subparsers, argv=())` and `run(args)`. `argv` is the whole
command line: a command whose flags depend on it (`train --task X` has task X's options,
`predict RUN` the options of RUN's recipe) reads it to add them.

Errors the user can cause (rnnlab.errors.RnnlabError) are printed as one line and exit with
status 2; anything else is a bug and keeps its traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from rnnlab.errors import RnnlabError

COMMANDS = ("train", "resume", "predict", "evaluate", "explore", "gradients", "cells")  # modules of rnnlab.cli


def build_parser(argv: list[str] = ()) -> argparse.ArgumentParser:
    import rnnlab.recipes  # noqa: F401  (registers the built-in recipes)
    from rnnlab import __version__
    parser = argparse.ArgumentParser(
        prog="rnnlab", description="Train, sample from, evaluate and inspect recurrent networks.",
        epilog="`rnnlab COMMAND -h` shows each command's options.")
    parser.add_argument("--version", action="version", version=f"rnnlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"rnnlab.cli.{name}").register(sub, list(argv))
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((a for a in argv if not a.startswith("-")), "rnnlab")
    try:
        parser = build_parser(argv)
    except RnnlabError as e:  # flags that depend on the command line: an unknown task, a missing run
        print(f"rnnlab {command}: error: {e}", file=sys.stderr)
        return 2
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
