"""`build_encoder`: the one builder of recurrent encoders.

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
