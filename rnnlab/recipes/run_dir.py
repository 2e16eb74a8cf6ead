"""A run directory: everything one training run produced, readable without the code that made it.

    config.json        how the run was made: resolved options, model config, data fingerprint
    vocab.json         the token ↔ id table (language models); vocab-<name>.json for models
                       with several (words, trigrams, tags, intents, labels, source, target)
    checkpoint/        last state: weights + optimizer + position + RNGs (safetensors + JSON)
    best.safetensors   weights with the best validation metric so far
    metrics.jsonl      one JSON object per log line;  loss.png  the curves
"""
from __future__ import annotations

import datetime
import sys
from pathlib import Path
from typing import Any

from rnnlab.errors import CheckpointError, ConfigError
from rnnlab.train.checkpoint import checkpoint_dir, read_json, write_json

FORMAT = "rnnlab-run"
VERSION = 1


class RunDir:
    """A run directory's paths and its config.json (see the module docstring for the layout)."""
    def __init__(self, path: str | Path):
        self.path = Path(path)

    config_path = property(lambda self: self.path / "config.json")
    vocab_path = property(lambda self: self.path / "vocab.json")
    checkpoint = property(lambda self: self.path / "checkpoint")
    best = property(lambda self: self.path / "best.safetensors")
    metrics = property(lambda self: self.path / "metrics.jsonl")

    def vocab_file(self, name: str) -> Path:
        return self.vocab_path if name == "vocab" else self.path / f"vocab-{name}.json"

    def exists(self) -> bool:
        return self.config_path.is_file()

    def check_new(self, overwrite: bool = False) -> None:
        """Refuse to start a run over another (unless `overwrite`) or over a file."""
        if self.path.exists() and not self.path.is_dir():
            raise ConfigError(f"{self.path} is a file, not a run directory")
        if self.exists() and not overwrite:
            raise ConfigError(
                f"{self.path} already holds a run; continue it with `rnnlab resume {self.path}`, "
                "or choose another --out (or pass --overwrite to start over)"
            )

    def create(self, options: dict, model_config: dict, data_info: dict, *, overwrite: bool = False) -> None:
        self.check_new(overwrite)
        if overwrite:
            for name in ("metrics.jsonl", "best.safetensors", "loss.png"):
                (self.path / name).unlink(missing_ok=True)
            import shutil
            shutil.rmtree(self.checkpoint, ignore_errors=True)
        self.path.mkdir(parents=True, exist_ok=True)
        from rnnlab import __version__
        write_json(self.config_path, {
            "format": FORMAT, "version": VERSION, "rnnlab": __version__, "python": sys.version.split()[0],
            "created": datetime.datetime.now().isoformat(timespec="seconds"),
            "options": options, "model": model_config, "data": data_info,
        })

    def load_config(self) -> dict[str, Any]:
        if not self.path.is_dir():
            raise CheckpointError(f"run directory not found: {self.path}")
        if not self.config_path.is_file():
            raise CheckpointError(f"{self.path} is not an rnnlab run directory (no config.json)")
        config = read_json(self.config_path, "run config")
        if not isinstance(config, dict) or config.get("format") != FORMAT:
            raise CheckpointError(f"{self.config_path} was not written by rnnlab")
        if config.get("version") != VERSION:
            raise CheckpointError(f"{self.config_path} has run format version {config.get('version')}; this rnnlab reads {VERSION}")
        for key in ("options", "model", "data"):
            if not isinstance(config.get(key), dict):
                raise CheckpointError(f"{self.config_path} is corrupt (no {key!r} section)")
        return config  # options added since the run was made take their defaults in Recipe.saved_options

    def update_options(self, options: dict) -> None:
        config = self.load_config()
        config["options"] = options
        write_json(self.config_path, config)

    def weights(self, which: str = "best") -> Path:
        """The weights file to use: 'best' (falls back to the last checkpoint if none yet) or 'last'."""
        if which not in ("best", "last"):
            raise ConfigError(f"--weights must be 'best' or 'last', got {which!r}")
        if which == "best" and self.best.is_file():
            return self.best
        found = checkpoint_dir(self.checkpoint)
        if found is None:
            raise CheckpointError(f"{self.path} has no weights yet (no checkpoint and no best.safetensors)")
        return found / "model.safetensors"
