"""`rnnlab train`: train a model of a task (its recipe's options from flags, --config TOML, --preset)
into a run directory.

Options resolve in this order, later winning: the recipe's defaults, the task's preset,
`--preset`, `--config`, flags. The task is read first (from `--task`, else the TOML file, else
the preset, else lm-char) because it decides which options exist: `-h` lists that task's.

Several processes: `torchrun --nproc-per-node N -m rnnlab train ...` (any machines, see
docs/distributed.md), or `--nproc N`, which starts torchrun on this machine. Every process reads
the data and builds the model; process 0 alone creates the run directory, prints and writes.
"""
from __future__ import annotations

import argparse
import datetime
import os
import sys
from pathlib import Path

from rnnlab.errors import ConfigError
from rnnlab.recipes.common import save_vocabs
from rnnlab.recipes.options import add_flags, as_dict, check_layer, flags_given, read_toml
from rnnlab.recipes.recipe import Recipe
from rnnlab.recipes.registry import preset, preset_names, recipe_for, task_names
from rnnlab.recipes.run_dir import RunDir
from rnnlab.train import distributed
from rnnlab.train.checkpoint import write_json
from rnnlab.train.device import check_options
from rnnlab.train.trainer import Trainer

DEFAULT_TASK = "lm-char"


def invoked(argv: list[str], command: str) -> list[str] | None:
    """The arguments after `command` when it is the command being run, else None."""
    first = next((i for i, a in enumerate(argv) if not a.startswith("-")), None)
    return argv[first + 1:] if first is not None and argv[first] == command else None


def task_of(args: list[str]) -> str:
    """The task a command line asks for: --task, else its --config file's, else its --preset's."""
    pre = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    for flag in ("--task", "--config", "--preset"):
        pre.add_argument(flag)
    known, _ = pre.parse_known_args(args)
    if known.task:
        return known.task
    if known.config and "task" in read_toml(known.config):
        return str(read_toml(known.config)["task"])
    return preset(known.preset).get("task", DEFAULT_TASK) if known.preset else DEFAULT_TASK


def add_option_flags(parser: argparse.ArgumentParser, recipe: Recipe, task: str) -> None:
    """--config, --preset and one flag per option of `recipe`; absent flags stay absent, so presets
    and TOML files are not overridden."""
    parser.add_argument("--config", metavar="FILE.toml", help="read options from a TOML file (flags win)")
    parser.add_argument("--preset", choices=preset_names(), help="a named set of options (flags and --config win)")
    add_flags(parser, recipe.Options, defaults=recipe.defaults(task),
              more_help={"task": f" ({', '.join(task_names())})"})


def given_options(args: argparse.Namespace, recipe: Recipe, task: str) -> dict:
    """The options the user set: preset < --config < flags, each checked against the recipe's."""
    merged = {}
    if getattr(args, "preset", None):
        merged.update(check_layer(recipe.Options, preset(args.preset), f"preset {args.preset}", task))
    if getattr(args, "config", None):
        merged.update(check_layer(recipe.Options, read_toml(args.config), f"config file {args.config}", task))
    merged.update(flags_given(args, recipe.Options))
    return merged


def check_writable(path: Path) -> None:
    """--out must be creatable: its nearest existing ancestor a writable directory (checked before
    the data is read, not after an epoch)."""
    parent = Path(os.path.abspath(path))
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(f"--out {path}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"--out {path}: cannot create it, {parent} is not writable")


def register(subparsers, argv=()) -> None:
    args = invoked(argv, "train")
    task = DEFAULT_TASK if args is None else task_of(args)
    recipe = recipe_for(task)
    p = subparsers.add_parser(
        "train", help="train a model (default: a character LSTM on this Python's standard library)",
        description="Train a model into a run directory. With no options: a character-level LSTM on the "
                    "built-in corpus (the Python standard library's sources), a few minutes on 2 cores.",
        epilog=f"These are the options of task {task}; `rnnlab train --task X -h` lists those of task X "
               f"({', '.join(task_names())}).")
    p.add_argument("--out", metavar="RUN_DIR", help="run directory (default: runs/<task>-<cell>-<time>)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run in --out")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_nproc_flag(p, argv)
    add_option_flags(p, recipe, task)
    p.set_defaults(func=run, recipe=recipe, resolved_task=task)


def add_nproc_flag(p: argparse.ArgumentParser, argv) -> None:
    p.add_argument("--nproc", type=int, metavar="N", help="train with N processes on this machine (starts torchrun "
                   "--standalone; on several machines run torchrun yourself, see docs/distributed.md)")
    p.set_defaults(command_argv=list(argv))


def relaunch(args: argparse.Namespace) -> int | None:
    """With --nproc N > 1 (and not already under torchrun): this command as N processes, its status."""
    if args.nproc is None:
        return None
    if args.nproc < 1:
        raise ConfigError(f"--nproc must be >= 1, got {args.nproc}")
    if args.nproc == 1 and not distributed.under_launcher():
        return None
    argv, _ = distributed.strip_nproc(args.command_argv)
    if "--debug" in sys.argv[1:]:  # main() takes it off the command line it parses
        argv = ["--debug", *argv]
    return distributed.launch(args.nproc, argv)


def record_processes(run_dir: RunDir, options, trainer: Trainer) -> None:
    """State in config.json how many processes train the run and the global batch this makes."""
    ctx, batch = trainer.ctx, getattr(options, "batch_size", None)
    config = run_dir.load_config()
    config["distributed"] = {"world_size": ctx.world_size, "backend": ctx.backend, "device": trainer.device.type,
                             "batch_size_per_process": batch,
                             "global_batch_size": None if batch is None else batch * ctx.world_size}
    write_json(run_dir.config_path, config)
    if ctx.active:
        per = f": global batch {batch * ctx.world_size} = {ctx.world_size} x {batch} per process" if batch else ""
        print(f"rnnlab: {ctx.world_size} processes ({ctx.backend} on {trainer.device.type}){per}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    recipe = args.recipe
    options = recipe.options(given_options(args, recipe, args.resolved_task))  # validated before any data is read
    check_options(options)  # a missing GPU is an error before the data is read
    status = relaunch(args)
    if status is not None:
        return status
    ctx = distributed.setup(options.device)
    cell = getattr(options, "cell", recipe.name)
    # every process must use process 0's default name (their clocks may tick between them)
    out = distributed.broadcast(args.out or f"runs/{options.task}-{cell}-{datetime.datetime.now():%Y%m%d-%H%M%S}")
    run_dir = RunDir(out)
    run_dir.check_new(args.overwrite)  # before the (slow) data loading
    check_writable(run_dir.path)
    prepared = recipe.prepare(options)
    distributed.barrier()  # every process has checked --out before process 0 creates the run there
    if ctx.is_main:
        run_dir.create(as_dict(options), prepared.model.config(), prepared.data_info, overwrite=args.overwrite)
        save_vocabs(run_dir, prepared.vocabs)
    trainer = Trainer(prepared.model, prepared.task, recipe.train_config(options), run_dir.path,
                      progress=not args.no_progress)  # shards the task: describe the updates after this
    if ctx.is_main:
        for line in recipe.describe(prepared, options).splitlines():
            print(f"rnnlab: {line}", file=sys.stderr)
        print(f"rnnlab: run directory {run_dir.path}", file=sys.stderr)
        record_processes(run_dir, options, trainer)
    return finish(trainer, prepared, run_dir, recipe)


def finish(trainer: Trainer, prepared, run_dir: RunDir, recipe: Recipe) -> int:
    """Train, then report: test metrics with the best weights if the run is complete, else how to resume."""
    summary = trainer.fit()
    if not trainer.ctx.is_main:  # process 0 reports, plots and tests
        return 130 if summary["stopped"] == "interrupted" else 0
    _plot(run_dir)
    valid = summary["valid"]
    if valid:
        print(f"rnnlab: valid {recipe.format_metrics(valid)}", file=sys.stderr)
    if summary["stopped"] in ("interrupted", "max_steps", "max_time"):
        nproc = f" --nproc {trainer.ctx.world_size}" if trainer.ctx.active else ""
        print(f"rnnlab: stopped ({summary['stopped']}) after {summary['step']} updates; "
              f"continue with: rnnlab resume {run_dir.path}{nproc}", file=sys.stderr)
    elif "test" in prepared.task.splits:
        from rnnlab.train.checkpoint import load_weights
        load_weights(trainer.model, run_dir.weights("best"))
        test = prepared.task.evaluate(trainer.model, "test")
        trainer.log.write("test", trainer.step, summary["epochs_done"], **test)
        print(f"rnnlab: test {recipe.format_metrics(test)} (best weights)", file=sys.stderr)
    if recipe.use:
        print(f"rnnlab: {recipe.use.format(run=run_dir.path)}", file=sys.stderr)
    return 130 if summary["stopped"] == "interrupted" else 0


def _plot(run_dir: RunDir) -> None:
    if not run_dir.metrics.is_file():
        return
    try:
        from rnnlab.train.plots import plot_metrics
        plot_metrics(run_dir.metrics)
    except ImportError:  # matplotlib missing: the numbers are in metrics.jsonl anyway
        pass
