"""`rnnlab COMMAND ...` (also `python -m rnnlab`): train, resume, the commands of the registered
recipes (generate, tag, classify, translate), predict, eval, explore, gradients, cells.

Each command module has `register(subparsers, argv=())` and `run(args)`. `argv` is the whole
command line: a command whose flags depend on it (`train --task X` has task X's options,
`predict RUN` the options of RUN's recipe) reads it to add them.

Failures the user can cause are printed as one line and exit with status 2 (`expected_failure`
lists them: rnnlab.errors, unreadable or unwritable files, out of memory, text that is not
UTF-8); anything else is a bug and keeps its traceback. `--debug` shows the traceback of every
failure.
"""
from __future__ import annotations

import argparse
import importlib
import re
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
    parser.add_argument("--debug", action="store_true", help="show the traceback of any failure (anywhere on the line)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"rnnlab.cli.{name}").register(sub, list(argv))
    return parser


def expected_failure(e: BaseException) -> str | None:
    """The one line to print for a failure the user can cause or fix, or None for a bug.

    The one place where expected failures become one-line errors: rnnlab's own errors, files that
    cannot be read or written (OSError names the file), a model too big for memory (MemoryError,
    or torch's allocator failing), text that is not UTF-8.
    """
    if isinstance(e, RnnlabError):
        return str(e)
    if isinstance(e, OSError) and e.strerror:
        files = " -> ".join(str(f) for f in (e.filename, e.filename2) if f is not None)
        return f"{files}: {e.strerror}" if files else e.strerror
    if isinstance(e, MemoryError) or isinstance(e, RuntimeError) and any(
            text in str(e) for text in ("can't allocate memory", "out of memory", "not enough memory")):
        tried = re.search(r"tried to allocate [^.(]*", str(e))
        return (f"out of memory{f' ({tried.group(0).strip()})' if tried else ''}: the model or batch is too "
                "large for this machine; lower --hidden, --layers, --embedding or --batch-size")
    if isinstance(e, UnicodeDecodeError):
        return f"a file is not UTF-8 text ({e.reason} at byte {e.start})"
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # `--debug` anywhere on the line (before or after the command): tracebacks for every failure
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    command = next((a for a in argv if not a.startswith("-")), "rnnlab")
    try:
        return _run(argv)
    except KeyboardInterrupt:
        print(f"rnnlab {command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `rnnlab generate ... | head`
        return 0
    except Exception as e:
        message = expected_failure(e)
        if debug or message is None:  # a bug keeps its traceback
            raise
        print(f"rnnlab {command}: error: {message}", file=sys.stderr)
        return 2


def _run(argv: list[str]) -> int:
    parser = build_parser(argv)  # flags that depend on the command line: the task, the run's recipe
    args, extra = parser.parse_known_args(argv)
    # `rnnlab tag RUN --format pairs "a sentence"`: argparse leaves positionals given after an
    # option unparsed when the command takes a list of them; they belong to that list
    rest = getattr(args, "rest_into", None)
    if extra and rest and not any(e.startswith("-") for e in extra):
        getattr(args, rest).extend(extra)
    elif extra:
        task = getattr(args, "resolved_task", None)
        # `--dataset` for a language model: say that the task has no such option, not just "unrecognized"
        why = f" (not options of task {task}; `rnnlab train --task {task} -h` lists its options)" if task else ""
        parser.error(f"unrecognized arguments: {' '.join(extra)}{why}")
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
