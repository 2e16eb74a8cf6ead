"""Recipes: what the command line knows about each kind of run (rnnlab.recipes.recipe describes
the interface), the registry that finds them by task or run directory, typed options and
presets, and run directories. Importing this package registers the built-in recipes."""
from rnnlab.recipes import classify, language_model, memory, seq2seq, tagging
from rnnlab.recipes import digits, narx
from rnnlab.recipes.recipe import ExploreRequest, Prepared, Recipe, Trained
from rnnlab.recipes.registry import all_recipes, recipe_for, recipe_of, register, unregister
from rnnlab.recipes.run_dir import RunDir

for _recipe in (language_model.RECIPE, tagging.RECIPE, classify.RECIPE, seq2seq.RECIPE, memory.RECIPE,
                memory.QA_RECIPE):
    register(_recipe)
for _recipe in (digits.RECIPE, narx.RECIPE):  # delay networks: TDNN on spoken digits, NARX on signals
    register(_recipe)

from rnnlab.recipes import graph, sentiment  # noqa: E402  (rnnlab.tree, rnnlab.graph)
register(sentiment.RECIPE)
register(graph.RECIPE)

__all__ = ["Recipe", "Prepared", "Trained", "ExploreRequest", "register", "unregister", "recipe_for", "recipe_of",
           "all_recipes", "RunDir"]
