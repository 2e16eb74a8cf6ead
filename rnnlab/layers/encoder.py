"""`build_encoder`: the one builder of recurrent encoders, and `Described`, how a model built from
names says which names built it.

    encoder = build_encoder("lstm", input_size=32, hidden_size=64, num_layers=2, bidirectional=True)
    outputs, finals = encoder(x, lengths=lengths)     # x (T, B, 32) → outputs (T, B, 128)

The cell is a registry name (`rnnlab.cells.registry`) or any factory `(input_size, hidden_size) ->
RecurrentCell`. The result is a `Stacked` of `Recurrent` layers (or `Bidirectional` pairs), with
dropout between layers and optional residual connections, and its `spec` records the arguments
(`EncoderSpec`). Task models take such an encoder as a module; their `build` classmethods turn the
names of a config into modules with this function, so a name is resolved in one place.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, Union

from rnnlab.cells.base import RecurrentCell
from rnnlab.cells.registry import make_cell
from rnnlab.errors import ConfigError
from rnnlab.layers.bidirectional import Bidirectional
from rnnlab.layers.recurrent import Recurrent
from rnnlab.layers.stacked import Stacked

CellFactory = Callable[[int, int], RecurrentCell]
MERGES = ("concat", "sum")


@dataclass(frozen=True)
class EncoderSpec:
    """The arguments `build_encoder` was called with. `cell` is the registry name, or the factory
    itself (then `cell_name` raises: a factory has no name a config could store)."""

    cell: Union[str, CellFactory]
    input_size: int
    hidden_size: int
    num_layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0
    residual: bool = False
    merge: str = "concat"

    @property
    def cell_name(self) -> str:
        if not isinstance(self.cell, str):
            raise ConfigError(f"the encoder was built from the cell factory {self.cell!r}, which a config cannot "
                              f"name; build it from a registry name to save and reload it")
        return self.cell

    def to_dict(self) -> dict:
        """The spec as JSON-able values (needs a named cell)."""
        return {**asdict(self), "cell": self.cell_name}


def cell_factory(cell: str | CellFactory) -> CellFactory:
    """A factory for `cell`: a registry name (an unknown one raises ConfigError naming the choices
    when the first cell is made) or a factory, returned as it is."""
    if isinstance(cell, str):
        return lambda d, h: make_cell(cell, d, h)
    if not callable(cell):
        raise ConfigError(f"cell must be a registry name or a factory (input_size, hidden_size) -> cell, got {cell!r}")
    return cell


def build_encoder(cell: str | CellFactory, input_size: int, hidden_size: int, num_layers: int = 1, *,
                  bidirectional: bool = False, dropout: float = 0.0, residual: bool = False,
                  merge: str = "concat") -> Stacked:
    """`num_layers` recurrent layers of `hidden_size` units per direction over (T, B, input_size)
    inputs → a `Stacked` whose output is (T, B, hidden_size × 2 if bidirectional with "concat",
    else hidden_size). Bidirectional layers merge their directions by `merge`; dropout acts
    between layers (training only); `residual` adds each layer's input to its output where the
    widths agree. The stack's `spec` records these arguments."""
    if min(input_size, hidden_size, num_layers) < 1:
        raise ConfigError(f"encoder sizes must be >= 1, got input {input_size}, hidden {hidden_size}, "
                          f"layers {num_layers}")
    if not 0.0 <= dropout < 1.0:
        raise ConfigError(f"dropout must be in [0, 1), got {dropout}")
    if merge not in MERGES:
        raise ConfigError(f"merge must be one of {', '.join(MERGES)}, got {merge!r}")
    make = cell_factory(cell)
    layers, width = [], input_size
    for _ in range(num_layers):
        if bidirectional:
            layer = Bidirectional(Recurrent(make(width, hidden_size)),
                                  Recurrent(make(width, hidden_size), reverse=True), merge)
        else:
            layer = Recurrent(make(width, hidden_size))
        layers.append(layer)
        width = layer.output_size
    encoder = Stacked(layers, dropout=dropout, residual=residual)
    encoder.spec = EncoderSpec(cell, input_size, hidden_size, num_layers, bidirectional, dropout, residual, merge)
    return encoder


def cell_label(encoder) -> str:
    """The encoder's cell for a repr: its registry name, else the type of its first cell."""
    spec = getattr(encoder, "spec", None)
    if spec is not None and isinstance(spec.cell, str):
        return repr(spec.cell)
    first = encoder.layers[0] if hasattr(encoder, "layers") else encoder
    first = getattr(first, "forward_layer", first)
    return type(getattr(first, "cell", first)).__name__


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
