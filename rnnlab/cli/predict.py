"""`rnnlab predict RUN_DIR [INPUT ...]`, and each recipe's own command for its runs (`rnnlab
generate`, `tag`, `classify`, `translate`): raw inputs in, the run's outputs out. A command that
other recipes share (`Recipe.shared_commands`: `classify` also takes a spoken-digits run with WAV
files, and a tree-sentiment run with text or bracketed trees) takes its flags and inputs from the
recipe of the run given.

Inputs come from the arguments, or one per line from standard input when none are given (a
command that takes no inputs, as generate, reads none). Outputs are printed as the recipe makes
them, so a sample appears token by token. The options after RUN_DIR are the recipe's (`rnnlab
predict RUN_DIR -h` lists them).
"""
from __future__ import annotations

import argparse
import sys

import torch

from rnnlab.cli.inputs import read_inputs
from rnnlab.cli.train import invoked
from rnnlab.errors import ConfigError
from rnnlab.recipes.options import add_flags, flag_values
from rnnlab.recipes.recipe import Recipe
from rnnlab.recipes.registry import commands, recipe_of, serving
from rnnlab.recipes.run_dir import RunDir
from rnnlab.train.device import add_device_flag, load_on


def _add_common(p: argparse.ArgumentParser, recipe: Recipe | None, inputs: str | None,
                command: str | None = None) -> None:
    p.add_argument("run_dir", metavar="RUN_DIR")
    if inputs:
        p.add_argument("inputs", nargs="*", metavar=inputs, help="inputs (default: lines of stdin)")
    p.add_argument("--weights", choices=("best", "last"), default="best", help="best validation or last checkpoint")
    add_device_flag(p)
    if recipe is not None:
        add_flags(p, recipe.PredictOptions, switches=True)
    p.set_defaults(func=run, recipe=recipe, served=command, rest_into="inputs" if inputs else None)


def _run_recipe(argv, command: str, owner: Recipe) -> Recipe:
    """The recipe whose flags `rnnlab COMMAND RUN ...` takes: the run's when it shares the command,
    else the owner's (a wrong or missing run is reported when the command runs)."""
    args = invoked(argv, command)
    run = next((a for a in args or () if not a.startswith("-")), None)
    if run is None or len(serving(command)) < 2:
        return owner
    try:
        recipe = recipe_of(RunDir(run))[0]
    except Exception:  # noqa: BLE001 — run() reports the unreadable run with its own message
        return owner
    return recipe if recipe in serving(command) else owner


def register(subparsers, argv=()) -> None:
    for command, recipe in commands().items():
        helps = "; ".join(r.command_help for r in serving(command) if r.command_help)
        p = subparsers.add_parser(command, help=helps, description=helps)
        chosen = _run_recipe(argv, command, recipe)
        _add_common(p, chosen, chosen.inputs, command)
    p = subparsers.add_parser("predict", help="outputs of any trained run for raw inputs",
                              description="The outputs of any trained run for raw inputs, made by the run's "
                                          "recipe; `rnnlab predict RUN_DIR -h` lists that recipe's options.")
    args = invoked(argv, "predict")
    run = next((a for a in args or () if not a.startswith("-")), None)
    _add_common(p, recipe_of(RunDir(run))[0] if run else None, "INPUT")


@torch.no_grad()  # restores the caller's grad mode: the CLI can be called from Python
def run(args: argparse.Namespace) -> int:
    run_dir = RunDir(args.run_dir)
    recipe, config = recipe_of(run_dir)
    wanted = serving(args.served) if args.served else [args.recipe or recipe]
    if recipe not in wanted:
        kinds = " or a ".join(r.kind for r in wanted)
        raise ConfigError(f"{run_dir.path} is a {config['options'].get('task')!r} run, not a {kinds}")
    if recipe is not args.recipe and args.recipe is not None:
        raise ConfigError(f"{run_dir.path} is a {recipe.kind}: give RUN_DIR right after `rnnlab {args.served}` "
                          "so its flags are known")
    options = recipe.PredictOptions(**flag_values(args, recipe.PredictOptions))
    given = getattr(args, "inputs", [])
    inputs = read_inputs(given, recipe.command or "predict") if recipe.inputs else given
    trained = load_on(recipe, run_dir, args.weights, args.device)
    out = sys.stdout
    for chunk in recipe.predict(trained, inputs, options):
        out.write(chunk)
        out.flush()
    return 0
