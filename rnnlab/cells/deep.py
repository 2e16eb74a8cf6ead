"""Deep recurrent transitions and deep outputs (Pascanu et al. 2014, "How to construct deep RNNs").

DeepTransition: an MLP inside the hidden→hidden step,
    h_t = MLP(h̃_t),  h̃_t = the wrapped cell's new hidden vector from (x_t, h_{t-1}),
so each step is a deep function of the previous state.
DeepOutput: an MLP from h_t to y_t, leaving the recurrence alone. Because it does not touch the
state it keeps the wrapped cell's fused BPTT: the MLP is applied to all steps at once.
"""
from __future__ import annotations

from typing import Sequence

from torch import Tensor, nn

from rnnlab.cells._state import hidden_of, replace_hidden
from rnnlab.cells.activations import ACTIVATIONS, check_activation
from rnnlab.cells.base import RecurrentCell, check_size
from rnnlab.cells.wrapper import CellWrapper


class DeepTransition(CellWrapper):
    """An MLP of `depth` tanh (or `activation`) layers on `cell`'s new hidden vector, fed back.

    `cell`'s output and state widths must match (n). Parameters `layers.k.weight` (n, n),
    `layers.k.bias` (n). State: the inner cell's with the hidden vector replaced by the MLP's
    output. step: out_t = that vector (B, n); internals are the inner cell's.
    """

    def __init__(self, cell: RecurrentCell, depth: int = 1, activation: str = "tanh"):
        super().__init__(cell)
        check_size("DeepTransition", "depth", depth)
        n = cell.output_size
        if n != cell.state_size:
            raise ValueError("DeepTransition needs a cell whose output and hidden state have the same width")
        self.activation = check_activation(activation)
        self.layers = nn.ModuleList(nn.Linear(n, n) for _ in range(depth))

    def step(self, x_t: Tensor, state):
        _, new, internals = self.cell.step(x_t, state)
        h = hidden_of(new)
        for layer in self.layers:
            h = ACTIVATIONS[self.activation](layer(h))
        return h, replace_hidden(new, h), internals

    def extra_repr(self) -> str:
        return f"depth={len(self.layers)}, activation={self.activation!r}"


class DeepOutput(CellWrapper):
    """An MLP from `cell`'s output to out_t, widths `sizes` (hidden layers squashed, the last linear).

    Parameters `layers.k.weight`, `layers.k.bias` (torch.nn.Linear's); output_size = sizes[-1].
    State and internals: the inner cell's, untouched. `fused_scan` runs the inner cell's fused
    scan and the MLP over all steps at once.
    """

    def __init__(self, cell: RecurrentCell, sizes: Sequence[int], activation: str = "tanh"):
        super().__init__(cell)
        if not sizes:
            raise ValueError("DeepOutput: give at least one layer size")
        for size in sizes:
            check_size("DeepOutput", "every layer size", size)
        self.activation = check_activation(activation)
        widths = [cell.output_size, *sizes]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))

    @property
    def output_size(self) -> int:
        return self.layers[-1].out_features

    def head(self, h: Tensor) -> Tensor:
        """The output MLP; hidden layers squashed, the last one linear."""
        for k, layer in enumerate(self.layers):
            h = layer(h)
            if k < len(self.layers) - 1:
                h = ACTIVATIONS[self.activation](h)
        return h

    def step(self, x_t: Tensor, state):
        out, new, internals = self.cell.step(x_t, state)
        return self.head(out), new, internals

    def fused_scan(self, x: Tensor, state, mask: Tensor | None):
        inner = getattr(self.cell, "fused_scan", None)
        result = inner(x, state, mask) if inner is not None else None
        if result is None:
            return None
        outputs, final = result
        y = self.head(outputs)  # all T·B steps in one batch
        return (y if mask is None else y * mask.unsqueeze(-1)), final

    def extra_repr(self) -> str:
        return f"activation={self.activation!r}"
