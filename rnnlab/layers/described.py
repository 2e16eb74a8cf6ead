"""`Described`: how a task model built from names (`Model.build(cell="lstm", ...)`) says which names
built it, so that a run directory's config.json can rebuild it — and how it loads the state_dicts
its earlier versions wrote."""
from __future__ import annotations

from rnnlab.errors import ConfigError


class Described:
    """Mixin for a task model whose constructor takes modules and whose `build(**names_and_sizes)`
    makes them: `config()` is the build call's arguments (plain JSON, what run directories store)
    and `from_config(config)` calls `build` again.

    `build` marks the model it returns with `described(model, arguments)`. A model made by its
    constructor from modules of your own has no such description: its `config()` raises
    ConfigError (save its state_dict and rebuild it in code instead).

    A model whose module tree changed lists the old key prefixes in `renamed_keys`, registers
    `self._upgrade_on_load` as a load_state_dict pre-hook, and so loads old state_dicts;
    `upgrade_state_dict` renames a dict ahead of time (for a loader that checks the keys first)."""

    _description: dict | None = None
    # state_dict key prefixes of earlier versions → today's (old run directories must still load)
    renamed_keys: dict[str, str] = {}

    def upgrade_state_dict(self, state_dict: dict) -> dict:
        """`state_dict` with keys written by an earlier version of the model renamed to today's
        (`renamed_keys`); today's keys pass unchanged. `load_state_dict` applies it itself."""
        return {_renamed(key, self.renamed_keys): value for key, value in state_dict.items()}

    def _upgrade_on_load(self, module, state_dict, prefix, *args) -> None:
        """load_state_dict pre-hook: rename old keys in place (under this module's `prefix`)."""
        for key in [k for k in state_dict if k.startswith(prefix)]:
            new = prefix + _renamed(key[len(prefix):], self.renamed_keys)
            if new != key:
                state_dict[new] = state_dict.pop(key)

    def config(self) -> dict:
        if self._description is None:
            raise ConfigError(f"this {type(self).__name__} was built from modules, not by "
                              f"{type(self).__name__}.build(...), so no config can describe it")
        return dict(self._description)

    @classmethod
    def from_config(cls, config: dict, *args):
        """The model `build(*args, **config)` makes; ConfigError for keys build does not take."""
        try:
            return cls.build(*args, **config)
        except TypeError as e:  # unknown or missing keys
            raise ConfigError(f"model config does not describe a {cls.__name__} ({e})") from None


def _renamed(key: str, renames: dict[str, str]) -> str:
    for old, new in renames.items():
        if key.startswith(old):
            return new + key[len(old):]
    return key


def described(model, arguments: dict):
    """`model`, marked as made by its class's `build(**arguments)` (see `Described`)."""
    model._description = dict(arguments)
    return model
