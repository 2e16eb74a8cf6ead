"""Every option of every recipe is validated when the options are made, naming the option: its
type, that ints fit in 64 bits and floats are finite, its range and choices. The tests iterate
over all options (training, prediction), so an option added without its checks fails here."""
import math
from dataclasses import fields

import pytest

from rnnlab.cli.main import main
from rnnlab.errors import ConfigError
from rnnlab.recipes.options import specs
from rnnlab.recipes.registry import all_recipes
from rnnlab.train.config import INT64

RECIPES = {recipe.name: recipe for recipe in all_recipes()}


def bad_values(cls, name):
    """Values of the wrong type or out of range for option `name` of `cls`."""
    opt = specs(cls)[name]
    meta = next(f.metadata for f in fields(cls) if f.name == name)
    out = [] if opt.nullable else [None]
    if opt.type is bool:
        return out + ["yes", 1, 0.0]
    if opt.type is str:
        out.append(3)
        return out + (["__no_such_choice__"] if opt.choices else [])
    if opt.type is int:
        out += [2.5, True, "3", INT64[1] + 1, INT64[0] - 1, 2**64]
    if opt.type is float:
        out += [math.nan, math.inf, -math.inf, "0.5", True]
    if meta.get("min") is not None:
        out.append(meta["min"] - 1)
    if meta.get("above") is not None:
        out.append(meta["above"])
    if meta.get("max") is not None:
        out.append(meta["max"] + 1)
    return out


def cases(which):
    for recipe in RECIPES.values():
        cls = getattr(recipe, which)
        for name in specs(cls):
            if name == "task":  # a name of a task: checked by the registry (test below)
                continue
            yield pytest.param(recipe.name, name, id=f"{recipe.name}-{name}")


@pytest.mark.parametrize("recipe, name", list(cases("Options")))
def test_every_training_option_refuses_bad_values(recipe, name):
    recipe = RECIPES[recipe]
    task = next(iter(recipe.tasks))
    base = recipe.defaults(task)
    for value in bad_values(recipe.Options, name):
        with pytest.raises(ConfigError, match=name):
            recipe.Options(**{**base, name: value})


@pytest.mark.parametrize("recipe, name", list(cases("PredictOptions")))
def test_every_prediction_option_refuses_bad_values(recipe, name):
    cls = RECIPES[recipe].PredictOptions
    for value in bad_values(cls, name):
        with pytest.raises(ConfigError, match=name):
            cls(**{name: value})


def flag_value(cls, name):
    """A bad value as typed on the command line, or None for a free string option (a path)."""
    opt = specs(cls)[name]
    meta = next(f.metadata for f in fields(cls) if f.name == name)
    if opt.choices:
        return "__no_such_choice__"
    if opt.type is bool:
        return "maybe"
    if opt.type is float:
        return "nan"
    if opt.type is int:
        if meta.get("min") is not None:
            return str(meta["min"] - 1)
        return str(2**64)
    return None


def cli_cases():
    for recipe in RECIPES.values():
        for name in specs(recipe.Options):
            if name != "task" and flag_value(recipe.Options, name) is not None:
                yield pytest.param(recipe.name, name, id=f"{recipe.name}-{name}")


@pytest.mark.parametrize("recipe, name", list(cli_cases()))
def test_every_flag_fails_before_any_work(tmp_path, capsys, recipe, name):
    """`rnnlab train --X bad`: one line naming the option, status 2, no run directory made."""
    recipe = RECIPES[recipe]
    task = next(iter(recipe.tasks))
    flag = specs(recipe.Options)[name].flag
    capsys.readouterr()
    code = main(["train", "--task", task, flag, flag_value(recipe.Options, name), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and name in err[0], err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("args, message", [
    (["--max-chars", "0"], "max_chars must be >= 1"),                    # 0 is not "the default"
    (["--task", "tagging", "--train-examples", "0"], "train_examples must be >= 1"),
    (["--decay-start", "-1"], "decay_start must be >= 0"),
    (["--plateau-patience", "-1"], "plateau_patience must be >= 0"),
    (["--task", "seq2seq", "--length-penalty", "nan"], "length_penalty must be a finite"),
    (["--seed", str(2**64)], "seed must fit in 64 bits"),
])
def test_leniency_is_gone(tmp_path, capsys, args, message):
    capsys.readouterr()
    assert main(["train", *args, "--out", str(tmp_path / "run")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_dataset_is_refused_for_language_models_naming_the_task(tmp_path, capsys):
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit:
        main(["train", "--dataset", "balanced", "--out", str(tmp_path / "run")])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert "--dataset" in err and "task lm-char" in err
    assert not (tmp_path / "run").exists()


def test_unknown_task_is_refused():
    with pytest.raises(ConfigError, match="no task 'nope'"):
        RECIPES["language-model"].defaults("nope")
