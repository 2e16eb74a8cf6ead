"""Sequence models of signals: an input signal in, an output signal (or a final answer) out.

    x (T, B, D) → recurrent layer(s) → [linear head] → ŷ (T, B, O)

`SignalModel.build(model="narx" | any registry cell name, ...)`: "narx" is one `Recurrent`
layer over a `NARXCell` whose output ŷ_t is fed back through its delay line (with `teacher`, the
true y_t can be fed instead — `forward(x, y=..., teacher_prob=p)`, see rnnlab/cells/narx.py);
a cell name is an encoder from `build_encoder` with a linear head. `head` adds a linear read-out
after a NARX cell too (the latching task reads a class from ŷ_T).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from rnnlab.cells.narx import NARXCell
from rnnlab.errors import ConfigError
from rnnlab.layers.described import Described, described
from rnnlab.layers.encoder import build_encoder
from rnnlab.layers.recurrent import Recurrent
from rnnlab.layers.sequence import check_sequence


class SignalModel(Described, nn.Module):
    """x (T, B, input_size) [, lengths, y (T, B, narx output), teacher_prob] → (T, B, output_size)."""

    def __init__(self, encoder: nn.Module, head: nn.Module | None):
        super().__init__()
        self.encoder, self.head = encoder, head
        self.input_size = self.narx.exogenous_size if self.narx is not None else encoder.input_size
        self.output_size = head.out_features if head is not None else encoder.output_size

    @classmethod
    def build(cls, input_size: int, output_size: int, *, model: str = "narx", hidden_size: int = 8,
              num_layers: int = 1, input_delays: int = 2, output_delays: int = 2, narx_outputs: int | None = None,
              hidden_recurrence: bool = False, teacher: bool = False, head: bool = True,
              output_activation: str = "identity") -> "SignalModel":
        """"narx": a NARXCell with `narx_outputs` fed-back outputs (default output_size), a tanh
        hidden layer of `hidden_size` (0: none) and delay lines of `input_delays` / `output_delays`,
        then a linear head when `head` (else its outputs are the model's). Other names: `num_layers`
        recurrent layers of `hidden_size` and a linear head."""
        if min(input_size, output_size, num_layers) < 1:
            raise ConfigError(f"sizes must be >= 1, got input {input_size}, output {output_size}, layers {num_layers}")
        if model == "narx":
            if num_layers != 1:
                raise ConfigError("a NARX model is one NARX layer; drop --layers")
            width = narx_outputs or output_size
            if not head and width != output_size:
                raise ConfigError(f"without a head the NARX outputs ({width}) are the model's ({output_size})")
            cell = NARXCell(input_size, width, input_delays=input_delays, output_delays=output_delays,
                            hidden_size=hidden_size, hidden_recurrence=hidden_recurrence, teacher=teacher,
                            output_activation=output_activation)
            encoder = Recurrent(cell)
        else:
            if teacher:
                raise ConfigError(f"teacher forcing feeds a NARX output delay line; {model!r} has none")
            encoder = build_encoder(model, input_size, hidden_size, num_layers)
            head = True
        made = cls(encoder, nn.Linear(encoder.output_size, output_size) if head else None)
        return described(made, dict(input_size=input_size, output_size=output_size, model=model,
                                    hidden_size=hidden_size, num_layers=num_layers, input_delays=input_delays,
                                    output_delays=output_delays, narx_outputs=narx_outputs,
                                    hidden_recurrence=hidden_recurrence, teacher=teacher, head=head,
                                    output_activation=output_activation))

    @property
    def narx(self) -> NARXCell | None:
        """The NARX cell when the encoder is one NARX layer (a property, not a second registration)."""
        cell = getattr(self.encoder, "cell", None)
        return cell if isinstance(cell, NARXCell) else None

    @property
    def teacher(self) -> bool:
        return self.narx is not None and self.narx.teacher

    def forward(self, x: Tensor, lengths: Tensor | Sequence[int] | None = None, y: Tensor | None = None,
                teacher_prob: float | None = None) -> Tensor:
        """ŷ for inputs x. A teacher-forced NARX feeds `y` (true outputs, (T, B, narx outputs)) into its
        delay line with probability `teacher_prob` (default 1 with y, 0 — free run — without)."""
        check_sequence(x, self.input_size, "SignalModel")
        if self.teacher:
            if y is None:
                y, teacher_prob = torch.zeros(*x.shape[:2], self.narx.output_size, dtype=x.dtype, device=x.device), 0.0
            elif y.shape != (*x.shape[:2], self.narx.output_size):
                raise ConfigError(f"SignalModel: y must be {(*x.shape[:2], self.narx.output_size)}, got {tuple(y.shape)}")
            saved = self.narx.teacher_prob
            self.narx.teacher_prob = 1.0 if teacher_prob is None else teacher_prob
            try:
                h, _ = self.encoder(torch.cat([x, y], -1), None, lengths)
            finally:
                self.narx.teacher_prob = saved
        else:
            if y is not None and teacher_prob:
                raise ConfigError("this model has no output delay line to feed true outputs into")
            h, _ = self.encoder(x, None, lengths)
        return self.head(h) if self.head is not None else h
