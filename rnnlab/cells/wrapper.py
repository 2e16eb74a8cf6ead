"""Base for cells that wrap another cell and change how its state evolves."""
from __future__ import annotations


from rnnlab.cells.base import RecurrentCell


class CellWrapper(RecurrentCell):
    def __init__(self, cell: RecurrentCell):
        super().__init__()
        if not isinstance(cell, RecurrentCell):
            raise TypeError(f"{type(self).__name__} wraps an rnnlab cell, got {type(cell).__name__}")
        self.cell = cell
        self.input_size, self.hidden_size = cell.input_size, cell.hidden_size

    @property
    def output_size(self) -> int:
        return self.cell.output_size

    @property
    def state_size(self) -> int:
        return self.cell.state_size

    def init_state(self, batch: int, device=None, dtype=None):
        return self.cell.init_state(batch, device, dtype)

    def reset_parameters(self) -> None:  # the inner cell initialises itself
        pass

    def check_input(self, x_t) -> None:
        self.cell.check_input(x_t)

    def extra_repr(self) -> str:
        return ""
