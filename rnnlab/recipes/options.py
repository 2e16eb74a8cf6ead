"""From an options dataclass to everything that spells its options: CLI flags, TOML keys, strings.

`specs(cls)` lists a class's options (`Option`: name, type, default, nullable, choices, help and
the `-h` group it is shown under); `add_flags` turns them into argparse flags (`--bptt-back`
for `bptt_back`), `flags_given` reads back the ones a user typed, `read_toml` reads a flat TOML
file (tables such as `[train]` are flattened) and `coerce` checks one value from either against
its option. Checking ranges and choices is the dataclass's own job (rnnlab.train.config).
"""
from __future__ import annotations

import argparse
import tomllib
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any

from rnnlab.errors import ConfigError
from rnnlab.train.config import choices_of, field_type, type_name


@dataclass(frozen=True)
class Option:
    """One option as the CLI, TOML files and config.json see it, derived from a dataclass field."""
    name: str
    type: type
    default: Any
    help: str
    nullable: bool = False          # "none" on the command line / absent in TOML means None
    choices: tuple | None = None
    group: str = "options"

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


def _group(cls: type, name: str) -> str:
    """The heading of the class that first declared `name` (a subclass may only refine its help)."""
    for klass in reversed(cls.__mro__):
        if name in klass.__dict__.get("__annotations__", {}):
            return getattr(klass, "GROUP", "options")
    return "options"


FIRST, LAST = ("task and data", "vocabulary", "model", "batching"), ("training",)  # the order of groups; a recipe's own between


def specs(cls: type) -> dict[str, Option]:
    """The options of `cls`, group by group (data, model, batching, the recipe's own, training)."""
    out = []
    for f in fields(cls):
        base, nullable = field_type(cls, f.name)
        default = None if f.default is MISSING else f.default
        out.append(Option(f.name, base, default, f.metadata.get("help", ""), nullable, choices_of(f.metadata),
                          _group(cls, f.name)))

    def rank(opt: Option) -> int:
        return FIRST.index(opt.group) if opt.group in FIRST else len(FIRST) + 1 + LAST.index(opt.group) \
            if opt.group in LAST else len(FIRST)
    return {opt.name: opt for opt in sorted(out, key=rank)}


def as_dict(options) -> dict[str, Any]:
    """The options as config.json stores them: flat, in the order of `specs`."""
    return {name: getattr(options, name) for name in specs(type(options))}


def parse_bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true/false, got {text!r}")


def coerce(opt: Option, value: Any, where: str) -> Any:
    """A value from the command line (a string) or TOML, as the option's type."""
    if value is None or (isinstance(value, str) and value.lower() == "none" and opt.nullable):
        if not opt.nullable:
            raise ConfigError(f"{where}: {opt.name} cannot be none")
        return None
    if isinstance(value, str) and opt.type is not str:
        try:
            return parse_bool(value) if opt.type is bool else opt.type(value)
        except ValueError:
            raise ConfigError(f"{where}: {opt.name} = {value!r} is not a valid {opt.type.__name__}") from None
    expected = {float: (int, float)}.get(opt.type, (opt.type,))
    if isinstance(value, bool) and opt.type is not bool or not isinstance(value, expected):
        raise ConfigError(f"{where}: {opt.name} must be {type_name(opt.type)}, got {value!r}")
    return float(value) if opt.type is float else value


def add_flags(parser: argparse.ArgumentParser, cls: type, *, defaults: dict | None = None,
              switches: bool = False, skip=(), more_help: dict[str, str] | None = None) -> None:
    """One flag per option, grouped under their class's heading in `-h`.

    Training-style flags (`switches=False`) stay absent unless typed, so presets and TOML files
    are not overridden, and `defaults` (the effective ones) are only shown; each takes a value
    (`--tie-weights true`). With `switches=True` (a command's own options) flags carry their
    defaults and a bool option is an on/off switch (`--json`).
    """
    groups: dict[str, Any] = {}
    for opt in specs(cls).values():
        if opt.name in skip:
            continue
        group = groups.get(opt.group) or groups.setdefault(opt.group, parser.add_argument_group(opt.group))
        shown = (defaults or {}).get(opt.name, opt.default)
        if switches and opt.type is bool:
            group.add_argument(opt.flag, dest=opt.name, action="store_true", default=opt.default, help=opt.help)
            continue
        help = opt.help + (more_help or {}).get(opt.name, "") + ("" if shown is None else f" (default {shown})")
        kwargs = {"default": opt.default} if switches else {"default": argparse.SUPPRESS}
        if switches:
            kwargs["type"] = lambda text, opt=opt: _from_flag(opt, text)
            if opt.choices:
                kwargs["choices"] = opt.choices
        group.add_argument(opt.flag, dest=opt.name, metavar=opt.name.upper(), help=help, **kwargs)


def _from_flag(opt: Option, text: str) -> Any:
    try:
        return coerce(opt, text, "command line")
    except ConfigError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def flags_given(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The options typed on the command line (absent flags are absent), as their types."""
    return {name: coerce(opt, getattr(args, name), "command line")
            for name, opt in specs(cls).items() if hasattr(args, name)}


def flag_values(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """Every option of `cls` from flags added with `switches=True`."""
    return {name: getattr(args, name) for name in specs(cls)}


def read_toml(path: str | Path) -> dict[str, Any]:
    """A flat TOML file of options (`hidden = 512`, `cell = "gru"`); `[train]`-style tables are
    flattened. Values are checked against a recipe's options by `check_layer`."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a directory, not a TOML file") from None
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror or e}") from None
    except UnicodeDecodeError as e:  # tomllib decodes the bytes as UTF-8 before parsing
        raise ConfigError(f"config file {path} is not UTF-8 text (byte {e.start}): is it a TOML file?") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {path} is not valid TOML ({e})") from None
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update({k.replace("-", "_"): v for k, v in value.items()})
        else:
            flat[key.replace("-", "_")] = value
    return flat


def check_layer(cls: type, values: dict[str, Any], where: str, task: str) -> dict[str, Any]:
    """`values` (a preset's or a TOML file's) with each checked against the options of `cls`."""
    known = specs(cls)
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown option(s) for task {task}: {', '.join(unknown)}")
    return {key: coerce(known[key], value, where) for key, value in values.items()}
