"""NARX cell: nonlinear autoregression with exogenous inputs, memory held in delay lines.

    ŷ_t = g(W_o h_t + b_o),   h_t = f(W_x [u_t; u_{t-1}; …; u_{t-K_x}] + W_y [y_{t-1}; …; y_{t-K_y}]
                                       + W_h h_{t-1} + b)                                          (1)

(without a hidden layer, hidden_size 0: ŷ_t = g(W_x [u…] + W_y [y…] + b) directly (2); W_h only with
`hidden_recurrence`). The state holds the two delay lines and, with hidden recurrence, h_{t-1}:

    state = (u_line (B, K_x·D), y_line (B, K_y·O), h (B, H or 0))      newest first in each line

so `Recurrent`, BPTT, the trainer and the Recorder apply unchanged. What goes into the output
delay line after step t is the training mode (Narendra & Parthasarathy 1990):

- parallel / closed loop (`teacher=False`, or teacher_prob 0): the cell's own ŷ_t, so gradients
  flow back through the fed-back outputs (BPTT through the delay line);
- series-parallel (`teacher=True`, teacher_prob 1): the true y_t, read from the last O columns of
  the step's input x_t = [u_t; y_t]. The true value is used only *after* ŷ_t is computed — step t's
  prediction never sees y_t (a test checks ∂ŷ_t/∂y_t = 0) — and it is data, not a function of the
  weights, so training is one-step-ahead regression;
- scheduled mixing (0 < teacher_prob < 1): each sequence's line gets the true y_t with probability
  teacher_prob, else ŷ_t, drawn per step and row (Bengio et al. 2015's scheduled sampling).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnlab.cells.activations import ACTIVATIONS, check_activation
from rnnlab.cells.base import RecurrentCell, check_size


class NARXCell(RecurrentCell):
    """NARXCell(input_size D, output_size O, *, input_delays K_x=2, output_delays K_y=2,
    hidden_size H=0, hidden_recurrence=False, activation="tanh" (f), output_activation="identity" (g),
    teacher=False, teacher_prob=1.0).

    x_t is (B, D) — or (B, D + O) with `teacher`, the last O columns being the true y_t —; out_t =
    ŷ_t (B, O). Parameters: weight_x (H or O, (K_x+1)·D), weight_y (…, K_y·O) when K_y > 0,
    weight_hh (H, H) with hidden recurrence, bias; with a hidden layer weight_o (O, H), bias_o.
    `teacher_prob` (a plain attribute, may be changed between calls) is the probability that the
    true y_t enters the delay line; step's internals: "hidden" (with a hidden layer) and "y" (ŷ_t).
    """

    def __init__(self, input_size: int, output_size: int, *, input_delays: int = 2, output_delays: int = 2,
                 hidden_size: int = 0, hidden_recurrence: bool = False, activation: str = "tanh",
                 output_activation: str = "identity", teacher: bool = False, teacher_prob: float = 1.0):
        super().__init__()
        self.exogenous_size = check_size("NARXCell", "input_size", input_size)
        self._output_size = check_size("NARXCell", "output_size", output_size)
        self.input_delays = check_size("NARXCell", "input_delays", input_delays, minimum=0)
        self.output_delays = check_size("NARXCell", "output_delays", output_delays, minimum=0)
        self.hidden_units = check_size("NARXCell", "hidden_size", hidden_size, minimum=0)
        if hidden_recurrence and not hidden_size:
            raise ValueError("NARXCell: hidden_recurrence needs a hidden layer (hidden_size >= 1)")
        if teacher and not output_delays:
            raise ValueError("NARXCell: teacher forcing feeds the output delay line; it needs output_delays >= 1")
        self.hidden_recurrence, self.teacher = bool(hidden_recurrence), bool(teacher)
        self.activation = check_activation(activation)
        self.output_activation = check_activation(output_activation)
        self.teacher_prob = teacher_prob
        self.input_size = input_size + (output_size if teacher else 0)
        self.hidden_size = hidden_size or output_size  # the width reset_parameters scales by
        self.internals = ("hidden", "y") if hidden_size else ("y",)
        first = hidden_size or output_size  # the layer the delay lines feed
        self.weight_x = nn.Parameter(torch.empty(first, (input_delays + 1) * input_size))
        self.weight_y = nn.Parameter(torch.empty(first, output_delays * output_size)) if output_delays else None
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size)) if hidden_recurrence else None
        self.bias = nn.Parameter(torch.empty(first))
        self.weight_o = nn.Parameter(torch.empty(output_size, hidden_size)) if hidden_size else None
        self.bias_o = nn.Parameter(torch.empty(output_size)) if hidden_size else None
        self.reset_parameters()

    @property
    def teacher_prob(self) -> float:
        return self._teacher_prob

    @teacher_prob.setter
    def teacher_prob(self, value: float) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise ValueError(f"NARXCell: teacher_prob must be a number in [0, 1], got {value!r}")
        self._teacher_prob = float(value)

    @property
    def output_size(self) -> int:
        return self._output_size

    @property
    def state_size(self) -> int:
        return self._output_size

    def init_state(self, batch: int, device=None, dtype=None) -> tuple[Tensor, Tensor, Tensor]:
        """Empty delay lines (zeros) and h_0 = 0; absent parts are (B, 0)."""
        return (self._zeros(batch, self.input_delays * self.exogenous_size, device, dtype),
                self._zeros(batch, self.output_delays * self._output_size, device, dtype),
                self._zeros(batch, self.hidden_units if self.hidden_recurrence else 0, device, dtype))

    def step(self, x_t: Tensor, state) -> tuple[Tensor, tuple, dict[str, Tensor]]:
        self.check_input(x_t, state)
        u_line, y_line, h_prev = state
        u = x_t[:, :self.exogenous_size]
        window = torch.cat([u, u_line], dim=1)  # [u_t; u_{t-1}; …; u_{t-K_x}]
        pre = F.linear(window, self.weight_x, self.bias)
        if self.weight_y is not None:
            pre = pre + F.linear(y_line, self.weight_y)  # W_y [y_{t-1}; …; y_{t-K_y}]
        internals = {}
        if self.weight_o is not None:
            if self.weight_hh is not None:
                pre = pre + F.linear(h_prev, self.weight_hh)  # W_h h_{t-1}
            h = ACTIVATIONS[self.activation](pre)  # h_t of (1)
            y = ACTIVATIONS[self.output_activation](F.linear(h, self.weight_o, self.bias_o))  # ŷ_t of (1)
            internals["hidden"] = h
            if self.weight_hh is not None:
                h_prev = h
        else:
            y = ACTIVATIONS[self.output_activation](pre)  # (2)
        internals["y"] = y
        fed = self.fed_back(x_t, y)
        # shift both lines by one step: the newest value in front, the oldest falls off the end
        u_line = window[:, :self.input_delays * self.exogenous_size]
        y_line = torch.cat([fed, y_line[:, :(self.output_delays - 1) * self._output_size]], dim=1) \
            if self.output_delays else y_line
        return y, (u_line, y_line, h_prev), internals

    def fed_back(self, x_t: Tensor, y: Tensor) -> Tensor:
        """What enters the output delay line: ŷ_t, the true y_t, or per row one of them (see the
        module docstring). Chosen by selection, so a row fed the truth gets no gradient through ŷ_t."""
        if not self.teacher or self._teacher_prob == 0.0:
            return y
        true = x_t[:, self.exogenous_size:]
        if self._teacher_prob == 1.0:
            return true
        use_true = torch.rand(y.shape[0], 1, device=y.device) < self._teacher_prob
        return torch.where(use_true, true, y)

    def extra_repr(self) -> str:
        return (f"{self.exogenous_size}, {self._output_size}, input_delays={self.input_delays}, "
                f"output_delays={self.output_delays}, hidden_size={self.hidden_units}, "
                f"hidden_recurrence={self.hidden_recurrence}, teacher={self.teacher}, "
                f"teacher_prob={self._teacher_prob}")
