"""The runs of an ensemble, loaded and checked to be interchangeable: what every recipe's
`load_ensemble` (tagging, sentiment) needs before it combines the members' models."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from rnnlab.errors import ConfigError
from rnnlab.recipes.recipe import Recipe, Trained
from rnnlab.recipes.run_dir import RunDir


def load_members(recipe: Recipe, runs: Sequence[str | Path], data_keys: Sequence[str] = ("sha256",)) -> list[Trained]:
    """Each run of `recipe` loaded (best weights); refused unless all have the first run's saved
    vocabularies and the same `config["data"][key]` for every key of `data_keys` (the data's
    fingerprints; a label scheme) — members that read or predict differently cannot be averaged."""
    if not runs:
        raise ConfigError("an ensemble needs at least one run directory")
    trained = [recipe.load(RunDir(run)) for run in runs]
    first = trained[0]
    for t in trained[1:]:
        differ = [name for name in sorted(set(t.vocabs) | set(first.vocabs)) if t.vocabs.get(name) != first.vocabs.get(name)]
        differ += [key for key in data_keys if t.config["data"].get(key) != first.config["data"].get(key)]
        if differ:
            raise ConfigError(f"{t.run.path} was not trained on the same data and vocabularies as {first.run.path} "
                              f"(they differ in: {', '.join(differ)}); ensemble members must be")
    return trained
