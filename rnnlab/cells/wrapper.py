"""Base for cells that wrap another cell and change how its state evolves."""
from __future__ import annotations

from torch import Tensor

import torch

from rnnlab.cells._state import State, leaves
from rnnlab.cells.base import RecurrentCell


class CellWrapper(RecurrentCell):
    """A cell built around another cell, `self.cell`, and itself a cell.

    Sizes, `init_state`, input checks and `internals` are the inner cell's unless a subclass says
    otherwise. A subclass's `step` calls `self.cell.step` once and passes the inner internals on
    under the same names; where it changes the carried state it reports the carried values
    (`carry`), so a recording shows what the network carries. This base class alone is the
    identity wrapper.
    """

    def __init__(self, cell: RecurrentCell):
        super().__init__()
        if not isinstance(cell, RecurrentCell):
            raise TypeError(f"{type(self).__name__} wraps an rnnlab cell, got {type(cell).__name__}")
        self.cell = cell
        self.input_size, self.hidden_size = cell.input_size, cell.hidden_size

    output_size = property(lambda self: self.cell.output_size)
    state_size = property(lambda self: self.cell.state_size)
    internals = property(lambda self: self.cell.internals)

    def init_state(self, batch: int, device=None, dtype=None):
        return self.cell.init_state(batch, device, dtype)

    def step(self, x_t: Tensor, state: State) -> tuple[Tensor, State, dict[str, Tensor]]:
        return self.cell.step(x_t, state)

    def carried(self, state: State) -> dict[str, Tensor]:
        """The inner cell's carried internals; a wrapper whose state nests the inner one overrides this."""
        return self.cell.carried(state)

    def carry(self, internals: dict[str, Tensor], inner_state: State) -> dict[str, Tensor]:
        """`internals` with the values that are leaves of the state replaced by those of `inner_state`,
        the inner state this wrapper carries on (e.g. an LSTM's c after mixing)."""
        carried = self.cell.carried(inner_state)
        return {**internals, **carried} if carried else internals

    def reset_parameters(self) -> None:  # the inner cell initialises itself
        pass

    def check_input(self, x_t) -> None:
        self.cell.check_input(x_t)

    def extra_repr(self) -> str:
        return ""


class PerUnitWrapper(CellWrapper):
    """A wrapper that acts on the state unit by unit (one α or period per unit), so it needs every
    floating leaf of the inner state to be `state_size` wide: an LSTM with a projection (h of
    proj_size, c of hidden_size) is refused when the wrapper is made, not at its first step."""

    def __init__(self, cell: RecurrentCell):
        super().__init__(cell)
        widths = [leaf.shape[-1] for leaf in leaves(cell.init_state(1, torch.device("meta")))
                  if leaf.is_floating_point()]
        if any(w != cell.state_size for w in widths):
            raise ValueError(f"{type(self).__name__} acts on each of the {cell.state_size} state units, but "
                             f"{type(cell).__name__}'s state leaves have widths {widths} (an LSTM with a "
                             f"projection cannot be wrapped)")


class StochasticWrapper(CellWrapper):
    """A wrapper with one probability `p` in [0, 1) (Zoneout, RecurrentDropout)."""

    def __init__(self, cell: RecurrentCell, p: float):
        super().__init__(cell)
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p < 1.0:
            raise ValueError(f"{type(self).__name__}: p must be in [0, 1), got {p}")
        self.p = p

    def extra_repr(self) -> str:
        return f"p={self.p}"
