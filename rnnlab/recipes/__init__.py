"""Recipes: what the command line knows about each kind of run (rnnlab.recipes.recipe describes
the interface), the registry that finds them by task or run directory, typed options and
presets, and run directories. Importing this package registers the built-in recipes."""
from rnnlab.recipes import (classify, digits, graph, language_model, memory, narx, sentiment, seq2seq,
                            tagging)
from rnnlab.recipes.recipe import ExploreRequest, Prepared, Recipe, Trained
from rnnlab.recipes.registry import all_recipes, recipe_for, recipe_of, register, unregister
from rnnlab.recipes.run_dir import RunDir

# The order is the order of `rnnlab train --task` choices and of `rnnlab --help`'s command list.
BUILT_IN = (
    language_model.RECIPE, tagging.RECIPE, classify.RECIPE, seq2seq.RECIPE,  # sequences
    memory.RECIPE, memory.QA_RECIPE,  # explicit memory: NTM tasks, memory networks
    digits.RECIPE, narx.RECIPE,  # delay networks: TDNN on spoken digits, NARX on signals
    sentiment.RECIPE, graph.RECIPE,  # recursive networks over trees, gated graph networks
)
for _recipe in BUILT_IN:
    register(_recipe)

__all__ = ["Recipe", "Prepared", "Trained", "ExploreRequest", "register", "unregister", "recipe_for", "recipe_of",
           "all_recipes", "RunDir"]
