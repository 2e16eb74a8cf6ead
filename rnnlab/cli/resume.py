"""`rnnlab resume RUN_DIR`: continue a stopped or interrupted run exactly where its checkpoint left it.

The budgets that stopped the last invocation (max_steps, max_time) are dropped unless given again.
Only budgets (epochs, max_steps, max_time, checkpoint_every, early_stopping) may change; any other
option that differs from the run's own is refused, because the result would no longer be the
run that config.json describes. The flags are those of the run's task (give RUN_DIR before -h).
A run trained on N processes continues on N: started on its own, `rnnlab resume` starts them on
this machine through torchrun (as `--nproc N` would); any other number is refused.
"""
from __future__ import annotations

import argparse
import sys

from rnnlab.cli.train import add_nproc_flag, add_option_flags, finish, given_options, invoked, record_processes, relaunch
from rnnlab.errors import ConfigError
from rnnlab.recipes.common import load_vocabs
from rnnlab.recipes.options import as_dict
from rnnlab.recipes.registry import recipe_of
from rnnlab.recipes.run_dir import RunDir
from rnnlab.train import distributed
from rnnlab.train.config import TrainConfig
from rnnlab.train.checkpoint import checkpoint_dir, read_checkpoint
from rnnlab.train.device import check_options
from rnnlab.train.trainer import Trainer, check_world_size


def register(subparsers, argv=()) -> None:
    p = subparsers.add_parser("resume", help="continue a run from its checkpoint",
                              description=__doc__.split("\n\n")[1])
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_nproc_flag(p, argv)
    args = invoked(argv, "resume")
    run = next((a for a in args or () if not a.startswith("-")), None)
    if run is not None:  # the run's own options (a missing or foreign run is reported as the error)
        recipe, config = recipe_of(RunDir(run))
        add_option_flags(p, recipe, config["options"]["task"])
        p.set_defaults(recipe=recipe, resolved_task=config["options"]["task"])
    p.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    run_dir = RunDir(args.run_dir)
    recipe, config = recipe_of(run_dir)
    saved = recipe.saved_options(config["options"], run_dir.config_path)
    requested = given_options(args, recipe, saved.task) if getattr(args, "recipe", None) is recipe else {}
    for key, value in requested.items():
        if key not in TrainConfig.MAY_CHANGE and value != getattr(saved, key):
            raise ConfigError(
                f"cannot resume {run_dir.path} with {key} = {value!r}: the run used {getattr(saved, key)!r} "
                f"(only {', '.join(TrainConfig.MAY_CHANGE)} may change on resume)"
            )
    # a budget stopped the last invocation; it does not carry over unless given again
    options = recipe.saved_options({**as_dict(saved), "max_steps": None, "max_time": None, **requested})
    check_options(options)  # a missing GPU is an error before the data is read
    state = read_checkpoint(run_dir.checkpoint) if checkpoint_dir(run_dir.checkpoint) is not None else {}
    world = state.get("world_size", 1)
    if args.nproc is None and not distributed.under_launcher() and isinstance(world, int) and world > 1:
        print(f"rnnlab: {run_dir.path} was trained on {world} processes: continuing on {world} on this machine",
              file=sys.stderr)
        args.nproc = world
    status = relaunch(args)
    if status is not None:
        return status
    ctx = distributed.setup(options.device)
    if state:
        check_world_size(state, run_dir.path, ctx.world_size)  # before the data is read
    prepared = recipe.prepare(options, vocabs=load_vocabs(run_dir, recipe.vocabs))
    if prepared.data_info.get("sha256") != config["data"].get("sha256"):
        raise ConfigError(f"cannot resume {run_dir.path}: its data changed since the run started "
                          f"(was {config['data'].get('source')})")
    if prepared.model.config() != config["model"]:
        raise ConfigError(f"cannot resume {run_dir.path}: the model config in config.json no longer matches its options")
    trainer = Trainer(prepared.model, prepared.task, recipe.train_config(options), run_dir.path,
                      progress=not args.no_progress)
    trainer.restore()
    if ctx.is_main:
        run_dir.update_options(as_dict(options))
        record_processes(run_dir, options, trainer)
    return finish(trainer, prepared, run_dir, recipe)
