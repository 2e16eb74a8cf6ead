"""Runs: the options table, run directories, and the recipes that turn options into a trainable task."""
from rnnlab.runs.options import OPTIONS, PRESETS, resolve
from rnnlab.runs.run_dir import RunDir

__all__ = ["OPTIONS", "PRESETS", "resolve", "RunDir"]
