"""`rnnlab eval RUN_DIR`: a trained model's metrics on a split — loss, perplexity (and bits per
character) for language models; slot F1 and intent accuracy for taggers; accuracy for
classifiers; exact match for encoder–decoders: whatever the run's recipe evaluates."""
from __future__ import annotations

import argparse
import json

import torch

from rnnlab.cli.train import invoked
from rnnlab.errors import ConfigError
from rnnlab.recipes.options import add_flags, flag_values
from rnnlab.recipes.registry import recipe_of
from rnnlab.recipes.run_dir import RunDir
from rnnlab.train.config import INT64
from rnnlab.train.device import add_device_flag, load_on


def register(subparsers, argv=()) -> None:
    p = subparsers.add_parser("eval", help="evaluate a trained model on a data split")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--data", metavar="DIR", help="another data directory in the run's format (default: the run's own data)")
    p.add_argument("--split", default="test", choices=("train", "valid", "test"), help="default: test")
    p.add_argument("--batch-size", type=int, default=None, help="sequences (language models: parallel streams) "
                   "per batch (default: the run's eval_batch_size)")
    p.add_argument("--weights", choices=("best", "last"), default="best", help="best validation or last checkpoint")
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    add_device_flag(p)
    # the run's recipe may add flags of its own (`EvalOptions`: a bit-sequence run's --length)
    args = invoked(argv, "eval")
    run_dir = _run_dir(args) if args else None
    recipe = recipe_of(RunDir(run_dir))[0] if run_dir else None
    if recipe is not None and recipe.EvalOptions is not None:
        add_flags(p, recipe.EvalOptions, switches=True)
    p.set_defaults(func=run, eval_options=None if recipe is None else recipe.EvalOptions)


def _run_dir(args: list[str]) -> str | None:
    """RUN_DIR of an eval command line (skipping the values of the flags that take one)."""
    pre = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    pre.add_argument("run_dir", nargs="?")
    for flag in ("--data", "--split", "--batch-size", "--weights", "--device"):
        pre.add_argument(flag)
    known, _ = pre.parse_known_args([a for a in args if a not in ("-h", "--help")])
    return known.run_dir


@torch.no_grad()  # restores the caller's grad mode: the CLI can be called from Python
def run(args: argparse.Namespace) -> int:
    if args.batch_size is not None and not 1 <= args.batch_size <= INT64[1]:
        raise ConfigError(f"--batch-size must be >= 1 (and fit in 64 bits), got {args.batch_size}")
    run_dir = RunDir(args.run_dir)
    recipe, _ = recipe_of(run_dir)
    trained = load_on(recipe, run_dir, args.weights, args.device)
    extra = {}
    if recipe.EvalOptions is not None and args.eval_options is recipe.EvalOptions:
        extra["options"] = recipe.EvalOptions(**flag_values(args, recipe.EvalOptions))
    metrics = recipe.evaluate(trained, args.split, data=args.data, batch_size=args.batch_size, **extra)
    print(json.dumps({"split": args.split, **metrics}) if args.json else recipe.format_evaluation(args.split, metrics))
    return 0
