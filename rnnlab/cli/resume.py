"""`rnnlab resume RUN_DIR`: continue a stopped or interrupted run exactly where its checkpoint left it.

The budgets that stopped the last invocation (max_steps, max_time) are dropped unless given again.
Only budgets (epochs, max_steps, max_time, checkpoint_every, early_stopping) may change; any other
option that differs from the run's own is refused, because the result would no longer be the
run that config.json describes.
"""
from __future__ import annotations

import argparse

from rnnlab.cli.train import add_option_flags, finish, given_options, train_config
from rnnlab.errors import ConfigError
from rnnlab.recipes.options import RESUMABLE, defaults
from rnnlab.recipes.recipe import load_vocabs, recipe_of
from rnnlab.recipes.run_dir import RunDir
from rnnlab.train.trainer import Trainer


def register(subparsers) -> None:
    p = subparsers.add_parser("resume", help="continue a run from its checkpoint",
                              description=__doc__.split("\n\n")[1] if __doc__ else None)
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_option_flags(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    run_dir = RunDir(args.run_dir)
    recipe, config = recipe_of(run_dir)
    saved = config["options"]
    requested = given_options(args)
    for key, value in requested.items():
        if key not in RESUMABLE and value != saved.get(key):
            raise ConfigError(
                f"cannot resume {run_dir.path} with {key} = {value!r}: the run used {saved.get(key)!r} "
                f"(only {', '.join(RESUMABLE)} may change on resume)"
            )
    # a budget stopped the last invocation; it does not carry over unless given again
    options = {**defaults(), **saved, "max_steps": None, "max_time": None, **requested}
    prepared = recipe.prepare(options, vocabs=load_vocabs(run_dir, recipe.VOCABS))
    if prepared.data_info.get("sha256") != config["data"].get("sha256"):
        raise ConfigError(f"cannot resume {run_dir.path}: its data changed since the run started "
                          f"(was {config['data'].get('source')})")
    if prepared.model.config() != config["model"]:
        raise ConfigError(f"cannot resume {run_dir.path}: the model config in config.json no longer matches its options")
    trainer = Trainer(prepared.model, prepared.task, train_config(options), run_dir.path,
                      progress=not args.no_progress)
    trainer.restore()
    run_dir.update_options(options)
    return finish(trainer, prepared, run_dir, recipe)
