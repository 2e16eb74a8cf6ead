"""`rnnlab train`: train a model from the options table (flags, --config TOML, --preset) into a run directory."""
from __future__ import annotations

import argparse
import datetime
import sys

from rnnlab.recipes.options import OPTIONS, PRESETS, TRAIN_KEYS, coerce, preset, read_toml, resolve
from rnnlab.recipes.recipe import recipe_for, save_vocabs
from rnnlab.recipes.run_dir import RunDir
from rnnlab.train.trainer import TrainConfig, Trainer


def add_option_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per option; absent flags stay absent, so presets and TOML files are not overridden."""
    parser.add_argument("--config", metavar="FILE.toml", help="read options from a TOML file (flags win)")
    parser.add_argument("--preset", choices=sorted(PRESETS), help="a named set of options (flags and --config win)")
    for opt in OPTIONS:
        default = "" if opt.default is None else f" (default {opt.default})"
        parser.add_argument("--" + opt.name.replace("_", "-"), dest=opt.name, default=argparse.SUPPRESS,
                            metavar=opt.name.upper(), help=f"{opt.help}{default}")


def given_options(args: argparse.Namespace) -> dict:
    """The options the user set: preset < --config < flags."""
    layers = []
    if getattr(args, "preset", None):
        layers.append(preset(args.preset))
    if getattr(args, "config", None):
        layers.append(read_toml(args.config))
    layers.append({o.name: coerce(o.name, getattr(args, o.name), "command line")
                   for o in OPTIONS if hasattr(args, o.name)})
    merged = {}
    for layer in layers:
        merged.update(layer)
    return merged


def train_config(options: dict) -> TrainConfig:
    return TrainConfig(**{k: options[k] for k in TRAIN_KEYS})


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train", help="train a model (default: a character LSTM on this Python's standard library)",
        description="Train a model into a run directory. With no options: a character-level LSTM on the "
                    "built-in corpus (the Python standard library's sources), a few minutes on 2 cores.")
    p.add_argument("--out", metavar="RUN_DIR", help="run directory (default: runs/<task>-<cell>-<time>)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run in --out")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_option_flags(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    options = resolve(given_options(args))
    recipe = recipe_for(options["task"])
    recipe.validate(options)
    config = train_config(options)  # validated here, before the data is loaded
    out = args.out or f"runs/{options['task']}-{options['cell']}-{datetime.datetime.now():%Y%m%d-%H%M%S}"
    run_dir = RunDir(out)
    run_dir.check_new(args.overwrite)  # before the (slow) data loading
    prepared = recipe.prepare(options)
    run_dir.create(options, prepared.model.config(), prepared.data_info, overwrite=args.overwrite)
    save_vocabs(run_dir, prepared.vocabs)
    for line in recipe.describe(prepared, options).splitlines():
        print(f"rnnlab: {line}", file=sys.stderr)
    print(f"rnnlab: run directory {run_dir.path}", file=sys.stderr)
    trainer = Trainer(prepared.model, prepared.task, config, run_dir.path, progress=not args.no_progress)
    return finish(trainer, prepared, run_dir, recipe)


def finish(trainer: Trainer, prepared, run_dir: RunDir, recipe) -> int:
    """Train, then report: test metrics with the best weights if the run is complete, else how to resume."""
    summary = trainer.fit()
    _plot(run_dir)
    valid = summary["valid"]
    if valid:
        print(f"rnnlab: valid {recipe.format_metrics(valid)}", file=sys.stderr)
    if summary["stopped"] in ("interrupted", "max_steps", "max_time"):
        print(f"rnnlab: stopped ({summary['stopped']}) after {summary['step']} updates; "
              f"continue with: rnnlab resume {run_dir.path}", file=sys.stderr)
    elif "test" in prepared.task.splits:
        from rnnlab.train.checkpoint import load_weights
        load_weights(trainer.model, run_dir.weights("best"))
        test = prepared.task.evaluate(trainer.model, "test")
        trainer.log.write("test", trainer.step, summary["epochs_done"], **test)
        print(f"rnnlab: test {recipe.format_metrics(test)} (best weights)", file=sys.stderr)
    print(f"rnnlab: {recipe.USE.format(run=run_dir.path)}", file=sys.stderr)
    return 130 if summary["stopped"] == "interrupted" else 0


def _plot(run_dir: RunDir) -> None:
    if not run_dir.metrics.is_file():
        return
    try:
        from rnnlab.train.plots import plot_metrics
        plot_metrics(run_dir.metrics)
    except ImportError:  # matplotlib missing: the numbers are in metrics.jsonl anyway
        pass
