"""Jordan network: the recurrence comes from the previous *output*, not the hidden state.

    h_t = f(W_ih x_t + b_ih + W_oh y_{t-1} + b_oh)
    y_t = g(W_ho h_t + b_ho)

The state is y_{t-1} itself, so teacher forcing is simply passing the true previous output as
the state of a step (`cell(x_t, y_true_prev)`); free running passes the cell's own output back.
`Recurrent(JordanCell(...))` runs it free; `cell.teacher_forced(x, y_prev)` does the whole
teacher-forced pass at once, since with known previous outputs no step waits for another.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnlab.cells.activations import ACTIVATIONS, check_activation
from rnnlab.cells.base import RecurrentCell, check_size

OUTPUT_ACTIVATIONS = {**ACTIVATIONS, "softmax": lambda v: torch.softmax(v, dim=-1)}


class JordanCell(RecurrentCell):
    """Jordan cell: the previous output y_{t-1} is the state.

    JordanCell(input_size D, hidden_size H, output_size O, *, activation="tanh" (f),
    output_activation="identity" (g; also "softmax"), bias=True). weight_ih (H, D), weight_oh (H, O),
    weight_ho (O, H), bias_ih, bias_oh (H), bias_ho (O). State y (B, O); out_t = y_t (B, O).
    step's internals: "hidden", h_t (B, H), the layer between input and output (y itself is the
    state). `teacher_forced(x, y_prev)` runs all steps at once given the true previous outputs.
    """

    internals = ("hidden",)

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int,
        *,
        activation: str = "tanh",
        output_activation: str = "identity",
        bias: bool = True,
    ):
        super().__init__()
        self.input_size = check_size("JordanCell", "input_size", input_size)
        self.hidden_size = check_size("JordanCell", "hidden_size", hidden_size)
        self._output_size = check_size("JordanCell", "output_size", output_size)
        self.activation = check_activation(activation)
        if output_activation not in OUTPUT_ACTIVATIONS:
            raise ValueError(f"unknown output_activation {output_activation!r}; choose one of {sorted(OUTPUT_ACTIVATIONS)}")
        self.output_activation = output_activation
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size))
        self.weight_oh = nn.Parameter(torch.empty(hidden_size, output_size))
        self.weight_ho = nn.Parameter(torch.empty(output_size, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(hidden_size)) if bias else None
        self.bias_oh = nn.Parameter(torch.empty(hidden_size)) if bias else None
        self.bias_ho = nn.Parameter(torch.empty(output_size)) if bias else None
        self.reset_parameters()

    @property
    def output_size(self) -> int:  # y's width, which is also the state's
        return self._output_size

    state_size = output_size

    def init_state(self, batch: int, device=None, dtype=None) -> Tensor:
        return self._zeros(batch, self._output_size, device, dtype)

    def hidden(self, x_t: Tensor, y_prev: Tensor) -> Tensor:
        """h_t from the input and the previous output (true or predicted)."""
        pre = F.linear(x_t, self.weight_ih, self.bias_ih) + F.linear(y_prev, self.weight_oh, self.bias_oh)
        return ACTIVATIONS[self.activation](pre)

    def output(self, h: Tensor) -> Tensor:
        return OUTPUT_ACTIVATIONS[self.output_activation](F.linear(h, self.weight_ho, self.bias_ho))

    def step(self, x_t: Tensor, state: Tensor) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
        """(y_t, y_t, {"hidden": h_t (B, H)})."""
        self.check_input(x_t, state)
        h = self.hidden(x_t, state)
        y = self.output(h)
        return y, y, {"hidden": h}

    def teacher_forced(self, x: Tensor, y_prev: Tensor) -> Tensor:
        """All outputs given the true previous ones: x (T, B, D), y_prev (T, B, O) with
        y_prev[t] = y_{t-1} (y_prev[0] is the initial output). Returns y (T, B, O)."""
        if y_prev.shape[:-1] != x.shape[:-1] or y_prev.shape[-1] != self._output_size:
            raise ValueError(
                f"JordanCell.teacher_forced: y_prev must have shape {(*x.shape[:-1], self._output_size)}, "
                f"got {tuple(y_prev.shape)}"
            )
        return self.output(self.hidden(x, y_prev))

    def extra_repr(self) -> str:
        return (
            f"{self.input_size}, {self.hidden_size}, {self._output_size}, activation={self.activation!r}, "
            f"output_activation={self.output_activation!r}"
        )
