"""Typed options, and the training options (`TrainConfig`), each defined once.

An options class is a dataclass whose fields are made with `option(default, help, ...)`: the
field's type (`int`, `float`, `bool`, `str`, optionally `| None`), default, help line and
checks are all there is to know about it. `Options.__post_init__` validates every field — its
type, that ints fit in 64 bits and floats are finite, its range and its choices — then calls `check()` for rules that
involve several fields, so a bad value fails when the object is made, naming the option, before
any data is read. The recipes (rnnlab.recipes) derive the CLI flags, TOML keys and config.json
from these fields.
"""
from __future__ import annotations

import math
import types
import typing
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Callable, ClassVar, Iterable

from rnnlab.errors import ConfigError
from rnnlab.train.device import AMP, DEVICES
from rnnlab.train.optim import OPTIMIZERS
from rnnlab.train.schedule import SCHEDULES

INT64 = (-2**63, 2**63 - 1)  # every int option is stored as a 64-bit integer (torch seeds, counters)


def option(default: Any, help: str, *, choices: Iterable | Callable[[], Iterable] | None = None,
           min: float | None = None, above: float | None = None, max: float | None = None) -> Any:
    """A dataclass field with its help line and checks: `choices` (or a function returning them,
    read when checking), `min` / `max` (inclusive bounds) and `above` (exclusive lower bound)."""
    return field(default=default, metadata={"help": help, "choices": choices, "min": min, "above": above,
                                            "max": max})


def field_type(cls: type, name: str) -> tuple[type, bool]:
    """(base type, nullable) of a field: `int | None` → (int, True)."""
    hint = typing.get_type_hints(cls)[name]
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0], True
    return hint, False


def type_name(base: type) -> str:
    """'an int', 'a float': for error messages."""
    return ("an " if base.__name__[0] in "aeiou" else "a ") + base.__name__


def choices_of(metadata) -> tuple | None:
    choices = metadata.get("choices")
    return tuple(choices() if callable(choices) else choices) if choices is not None else None


def _check_value(obj: Any, f, value: Any) -> Any:
    """The field's value, type-checked (an int where a float is expected becomes a float)."""
    base, nullable = field_type(type(obj), f.name)
    if value is None:
        if not nullable:
            raise ConfigError(f"{f.name} cannot be none")
        return None
    expected = {float: (int, float)}.get(base, (base,))
    if isinstance(value, bool) and base is not bool or not isinstance(value, expected):
        raise ConfigError(f"{f.name} must be {type_name(base)}, got {value!r}")
    if base is int and not INT64[0] <= value <= INT64[1]:
        raise ConfigError(f"{f.name} must fit in 64 bits ([{INT64[0]}, {INT64[1]}]), got {value}")
    if base is float:
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f"{f.name} must be a finite number, got {value}")
    meta = f.metadata
    choices = choices_of(meta)
    if choices is not None and value not in choices:
        raise ConfigError(f"unknown {f.name} {value!r}: {f.name} must be one of: {', '.join(map(str, choices))}")
    if meta.get("min") is not None and value < meta["min"]:
        raise ConfigError(f"{f.name} must be >= {meta['min']}, got {value}")
    if meta.get("above") is not None and not value > meta["above"]:
        raise ConfigError(f"{f.name} must be > {meta['above']}, got {value}")
    if meta.get("max") is not None and value > meta["max"]:
        raise ConfigError(f"{f.name} must be <= {meta['max']}, got {value}")
    return value


@dataclass
class Options:
    """Base of every options class: validates its fields when made (see the module docstring)."""
    GROUP: ClassVar[str] = "options"   # the heading of this class's own fields in `-h`
    WHAT: ClassVar[str] = ""           # "training": names the options in errors

    def __post_init__(self):
        for f in fields(self):
            object.__setattr__(self, f.name, _check_value(self, f, getattr(self, f.name)))
        self.check()

    def check(self) -> None:
        """Rules that involve several fields (override; raise ConfigError)."""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict):
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown {cls.WHAT + ' ' if cls.WHAT else ''}option(s) {unknown}; known: {sorted(known)}")
        return cls(**data)

    @classmethod
    def of(cls, options: "Options"):
        """This class's fields taken from a larger options object (e.g. a recipe's)."""
        return cls(**{f.name: getattr(options, f.name) for f in fields(cls)})


@dataclass
class TrainConfig(Options):
    """How to train: optimiser, schedule, clipping, budgets, logging. (The `Trainer` reads these.)"""
    GROUP: ClassVar[str] = "training"
    WHAT: ClassVar[str] = "training"
    # settings a resumed run may change: budgets only — anything else would make it a different run
    BUDGETS: ClassVar[tuple[str, ...]] = ("epochs", "max_steps", "max_time", "checkpoint_every", "early_stopping")
    # --- devices (rnnlab.train.device): where it runs may change on resume, checkpoints are device-free
    MAY_CHANGE: ClassVar[tuple[str, ...]] = BUDGETS + ("device",)

    epochs: int = option(2, "passes over the training data", min=1)
    optimizer: str = option("adam", "sgd, adam or adamw", choices=OPTIMIZERS)
    lr: float = option(2e-3, "learning rate", above=0)
    momentum: float = option(0.0, "SGD momentum (0 <= m < 1)", min=0)
    weight_decay: float = option(0.0, "L2 weight decay", min=0)
    clip_norm: float | None = option(5.0, "clip the global gradient norm to this", above=0)
    clip_value: float | None = option(None, "clip each gradient component to [-v, v]", above=0)
    schedule: str = option("constant", "learning-rate schedule: constant, step, plateau or cosine", choices=SCHEDULES)
    decay_factor: float = option(0.5, "schedule: multiply the rate by this when decaying", above=0)
    decay_start: int = option(4, "step schedule: epochs at the base rate before decaying every epoch", min=0)
    decay_every: int = option(1, "step schedule: epochs between decays after decay_start", min=1)
    plateau_patience: int = option(0, "plateau schedule: epochs without improvement before decaying", min=0)
    early_stopping: int | None = option(None, "stop after this many epochs without a better validation loss", min=1)
    max_steps: int | None = option(None, "stop (resumably) after this many updates", min=1)
    max_time: float | None = option(None, "stop (resumably) after this many seconds", above=0)
    checkpoint_every: int = option(0, "also checkpoint every N updates (0: at epoch ends)", min=0)
    log_every: int = option(50, "updates per line of metrics.jsonl", min=1)
    seed: int = option(0, "random seed (initialisation, dropout)")
    # --- devices and precision (rnnlab.train.device) ---
    device: str = option("auto", "cpu, cuda (this process's GPU) or auto (cuda when there is a GPU)", choices=DEVICES)
    amp: str = option("off", "mixed precision: off, bf16 or fp16 (fp16 with loss scaling, CUDA only)", choices=AMP)
    # --- end devices ---

    def check(self) -> None:
        super().check()
        if not self.momentum < 1:
            raise ConfigError(f"momentum must be < 1, got {self.momentum}")
        if self.momentum and self.optimizer != "sgd":
            raise ConfigError(f"momentum applies to sgd only (optimizer is {self.optimizer}; "
                              "Adam's betas set its averaging)")
