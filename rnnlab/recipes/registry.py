"""Which recipe serves which task: `register(recipe)` makes a recipe's tasks, presets and command
known to the command line; `recipe_for(task)`, `recipe_of(run_dir)` find one back.

The built-in recipes are registered when `rnnlab.recipes` is imported. A recipe defined
elsewhere (a plug-in, a test) registers itself the same way and needs no change to rnnlab.cli.
"""
from __future__ import annotations

from typing import Any

from rnnlab.errors import CheckpointError, ConfigError
from rnnlab.recipes.recipe import Recipe
from rnnlab.recipes.run_dir import RunDir

_RECIPES: dict[str, Recipe] = {}


def register(recipe: Recipe) -> Recipe:
    """Add a recipe; its name, tasks, presets and command must not be taken by another."""
    if not isinstance(recipe, Recipe):
        raise TypeError(f"register() takes a Recipe instance, got {recipe!r}")
    for other in _RECIPES.values():
        clash = ([f"name {recipe.name!r}"] if other.name == recipe.name else []) + \
            [f"task {t!r}" for t in recipe.tasks if t in other.tasks] + \
            [f"preset {p!r}" for p in recipe.presets if p in other.presets] + \
            ([f"command {recipe.command!r}"] if recipe.command and recipe.command == other.command else [])
        if clash:
            raise ConfigError(f"cannot register recipe {recipe.name!r}: {', '.join(clash)} belongs to {other.name!r}")
    for task, preset in recipe.tasks.items():
        if preset is not None and preset not in recipe.presets:
            raise ConfigError(f"recipe {recipe.name!r}: task {task!r} starts from preset {preset!r}, which it lacks")
    _RECIPES[recipe.name] = recipe
    return recipe


def unregister(name: str) -> None:
    _RECIPES.pop(name, None)


def all_recipes() -> list[Recipe]:
    return list(_RECIPES.values())


def task_names() -> list[str]:
    return [task for recipe in _RECIPES.values() for task in recipe.tasks]


def recipe_for(task: str) -> Recipe:
    for recipe in _RECIPES.values():
        if task in recipe.tasks:
            return recipe
    raise ConfigError(f"unknown task {task!r}; choose one of: {', '.join(task_names())}")


def recipe_of(run: RunDir) -> tuple[Recipe, dict]:
    """The recipe that made a run directory, and the run's config."""
    config = run.load_config()
    task = config["options"].get("task")
    try:
        return recipe_for(task), config
    except ConfigError:
        raise CheckpointError(f"{run.path} was made for task {task!r}, which this rnnlab does not know") from None


def preset_names() -> list[str]:
    return sorted(name for recipe in _RECIPES.values() for name in recipe.presets)


def preset(name: str) -> dict[str, Any]:
    """A named set of options; a preset of a recipe with several tasks may leave the task open."""
    for recipe in _RECIPES.values():
        if name in recipe.presets:
            return dict(recipe.presets[name])
    raise ConfigError(f"unknown preset {name!r}; choose one of: {', '.join(preset_names())}")


def commands() -> dict[str, Recipe]:
    """{command: recipe} for the recipes that name a command for their trained runs."""
    return {recipe.command: recipe for recipe in _RECIPES.values() if recipe.command}


def serving(command: str) -> list[Recipe]:
    """The recipes whose runs `rnnlab COMMAND RUN` accepts: the command's owner first, then the
    recipes that list it in `shared_commands` (none when no recipe owns the command)."""
    owner = commands().get(command)
    if owner is None:
        return []
    return [owner] + [r for r in _RECIPES.values() if command in r.shared_commands and r is not owner]
