"""What every recipe shares, and which recipe serves which task.

A recipe turns the resolved options into everything a run needs, and a run directory back into
a trained model. Each recipe module (`language_model`, `tagging`, `classify`, `seq2seq`)
provides:

    TASKS                    the task names it serves (the `task` option)
    validate(options)        cheap checks before any data is read
    prepare(options, vocabs=None) -> Prepared   data, vocabularies, model, trainer task
    load(run, weights)       the trained model of a run directory, in eval mode
    describe(prepared, options) -> str          one or two lines for the start of a run
    format_metrics(metrics) -> str              a metrics dict as one line
    USE                      how to use a finished run ("rnnlab generate {run}")

Vocabularies are saved beside the weights (`vocab.json`, `vocab-<name>.json`) because a model's
embedding rows mean nothing without them; resume and load read them back rather than rebuilding.
"""
from __future__ import annotations

import hashlib
import importlib
import json
from types import ModuleType
from typing import Any, NamedTuple

from rnnlab.data.vocab import Vocabulary
from rnnlab.errors import CheckpointError, ConfigError
from rnnlab.recipes.run_dir import RunDir

RECIPES = ("language_model", "tagging", "classify", "seq2seq")  # modules of rnnlab.recipes


class Prepared(NamedTuple):
    model: Any
    task: Any
    vocabs: dict[str, Vocabulary]
    data_info: dict


def modules() -> list[ModuleType]:
    return [importlib.import_module(f"rnnlab.recipes.{name}") for name in RECIPES]


def task_names() -> list[str]:
    return [task for module in modules() for task in module.TASKS]


def recipe_for(task: str) -> ModuleType:
    for module in modules():
        if task in module.TASKS:
            return module
    raise ConfigError(f"unknown task {task!r}; choose one of: {', '.join(task_names())}")


def recipe_of(run: RunDir) -> tuple[ModuleType, dict]:
    """The recipe that made a run directory, and the run's config."""
    config = run.load_config()
    task = config["options"].get("task")
    try:
        return recipe_for(task), config
    except ConfigError:
        raise CheckpointError(f"{run.path} was made for task {task!r}, which this rnnlab does not know") from None


def save_vocabs(run: RunDir, vocabs: dict[str, Vocabulary]) -> None:
    for name, vocab in vocabs.items():
        vocab.save(run.vocab_file(name))


def load_vocabs(run: RunDir, names, required=()) -> dict[str, Vocabulary]:
    """The run's saved vocabularies among `names` (a model may not use all of them); those in
    `required` must be there."""
    out = {}
    for name in names:
        path = run.vocab_file(name)
        if path.is_file():
            out[name] = Vocabulary.load(path)
        elif name in required:
            raise CheckpointError(f"{run.path} is incomplete: {path.name} is missing")
    return out


def fingerprint(value) -> str:
    """A short hash of JSON-able data (examples of a split), to notice changed data on resume."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def split_sizes(n_train: int) -> tuple[int, int, int]:
    """Built-in data: train, valid and test sizes (valid and test: a tenth, at least 200 — or as
    many as train when that is fewer)."""
    if n_train < 1:
        raise ConfigError(f"train_examples must be >= 1, got {n_train}")
    n = max(min(200, n_train), n_train // 10)
    return n_train, n, n


def check_cell(options: dict) -> None:
    from rnnlab.cells.registry import CELLS
    if options["cell"] not in CELLS:
        raise ConfigError(f"unknown cell {options['cell']!r}; choose one of: {', '.join(CELLS)}")


def check_data_options(options: dict, datasets, levels, file_level: str) -> None:
    """Built-in data (`--dataset`, character level) or files (`--data`, `--level`), not a mix."""
    if options["data"] is None:
        if options["dataset"] is not None:
            check_choice(options, "dataset", datasets)
        if options["level"] not in (None, "char"):
            raise ConfigError("the built-in data is character level; --level applies to --data files")
    else:
        if options["dataset"] is not None:
            raise ConfigError("--dataset names built-in data; drop it when giving --data")
        check_choice({"level": options["level"] or file_level}, "level", levels)


def load_trained(run: RunDir, tasks, vocab_names, weights: str, build) -> tuple[Any, dict[str, Vocabulary], dict]:
    """(model in eval mode, the vocabularies `vocab_names`, config) of a run made for one of `tasks`;
    `build(model_config)` makes the untrained model."""
    from rnnlab.train.checkpoint import load_weights
    config = run.load_config()
    task = config["options"].get("task")
    if task not in tasks:
        raise ConfigError(f"{run.path} is a {task!r} run, not a {tasks[0]} run")
    vocabs = load_vocabs(run, vocab_names, required=vocab_names)
    model = build(config["model"])
    load_weights(model, run.weights(weights))
    model.eval()
    return model, vocabs, config


def check_choice(options: dict, key: str, choices) -> None:
    if options[key] not in choices:
        raise ConfigError(f"{key} must be one of: {', '.join(map(str, choices))}; got {options[key]!r}")
