"""Cells by name, so configs, checkpoints and the CLI can say `cell = "lstm-peephole"`.

Each name maps to a factory `(input_size, hidden_size) -> RecurrentCell` whose output and state
width is `hidden_size`, so any named cell stacks like any other. The name plus sizes is all a
checkpoint needs to rebuild the module before loading its weights.
"""
from __future__ import annotations

from typing import Callable

from rnnlab.cells.base import RecurrentCell
from rnnlab.cells.clockwork import ClockworkCell
from rnnlab.cells.elman import ElmanCell
from rnnlab.cells.elementwise import ElementwiseCell
from rnnlab.cells.elementwise_lstm import ElementwiseLSTMCell
from rnnlab.cells.gru import GRUCell
from rnnlab.cells.jordan import JordanCell
from rnnlab.cells.leaky import LeakyCell
from rnnlab.cells.lstm import LSTMCell
from rnnlab.cells.narx import NARXCell
from rnnlab.errors import ConfigError

Factory = Callable[[int, int], RecurrentCell]

CELLS: dict[str, tuple[Factory, str]] = {
    "elman": (lambda d, h: ElmanCell(d, h), "Elman, tanh"),
    "elman-relu": (lambda d, h: ElmanCell(d, h, activation="relu"), "Elman, ReLU"),
    "elman-sigmoid": (lambda d, h: ElmanCell(d, h, activation="sigmoid"), "Elman, logistic sigmoid"),
    # the output fed back is squashed so the recurrence stays bounded like Elman's
    "jordan": (lambda d, h: JordanCell(d, h, h, output_activation="tanh"), "Jordan, output feedback"),
    "lstm": (lambda d, h: LSTMCell(d, h), "LSTM (torch.nn.LSTM's)"),
    "lstm-peephole": (lambda d, h: LSTMCell(d, h, peephole=True), "LSTM with peephole connections"),
    "lstm-layernorm": (lambda d, h: LSTMCell(d, h, layer_norm=True), "LSTM with layer normalisation"),
    "lstm-forget1": (lambda d, h: LSTMCell(d, h, forget_bias=1.0), "LSTM, forget-gate bias +1"),
    "gru": (lambda d, h: GRUCell(d, h), "GRU, reset after the matmul (torch / cuDNN)"),
    "gru-cho": (lambda d, h: GRUCell(d, h, reset_after=False), "GRU, reset before the matmul (Cho et al.)"),
    "gru-layernorm": (lambda d, h: GRUCell(d, h, layer_norm=True), "GRU with layer normalisation"),
    "leaky": (lambda d, h: LeakyCell(ElmanCell(d, h), alpha=0.5, learn_alpha=True), "leaky Elman, learned per-unit rate"),
    "elementwise": (lambda d, h: ElementwiseCell(d, h), "element-wise recurrence u ⊙ h (IndRNN), tanh"),
    "leaky-elementwise": (lambda d, h: LeakyCell(ElementwiseCell(d, h), alpha=0.5, learn_alpha=True),
                          "leaky element-wise recurrence, learned per-unit rate"),
    "elementwise-lstm": (lambda d, h: ElementwiseLSTMCell(d, h),
                         "element-wise LSTM: diagonal recurrent weights (Irie et al. 2023)"),
    "clockwork": (lambda d, h: ClockworkCell(ElmanCell(d, h), periods=_periods(h)), "clockwork Elman"),
    # output feedback through delay lines; the fed-back output is squashed so the loop stays bounded
    "narx": (lambda d, h: NARXCell(d, h, input_delays=2, output_delays=3, hidden_size=h, output_activation="tanh"),
             "NARX: delay lines of the last 3 inputs and 3 outputs, tanh hidden layer"),
}


def _periods(hidden: int) -> tuple[int, ...]:
    """The longest prefix of 1, 2, 4, 8 that splits `hidden` into equal groups."""
    for n in (4, 2, 1):
        if hidden % n == 0:
            return tuple(2**k for k in range(n))
    raise AssertionError("unreachable")


def cell_names() -> list[str]:
    return list(CELLS)


def make_cell(name: str, input_size: int, hidden_size: int) -> RecurrentCell:
    """A fresh cell of the named kind; ConfigError naming the choices if the name is unknown."""
    if name not in CELLS:
        raise ConfigError(f"unknown cell {name!r}; choose one of: {', '.join(CELLS)}")
    if input_size < 1 or hidden_size < 1:
        raise ConfigError(f"cell sizes must be positive, got input {input_size}, hidden {hidden_size}")
    return CELLS[name][0](input_size, hidden_size)
