"""Runs: the options table, run directories, and the recipes that turn options into a trainable task."""
from rnnlab.recipes.options import OPTIONS, PRESETS, resolve
from rnnlab.recipes.run_dir import RunDir

__all__ = ["OPTIONS", "PRESETS", "resolve", "RunDir"]
