"""Two recurrences over the same sequence, one forward and one backward in time (Schuster &
Paliwal 1997), their outputs merged per step: [h→_t; h←_t] ("concat") or h→_t + h←_t ("sum").

The backward layer reads each sequence from its own last valid step, so lengths are honoured.
State is (forward_state, backward_state).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnlab.cells.base import RecurrentCell
from rnnlab.layers.recurrent import Recurrent


class Bidirectional(nn.Module):
    """x (T, B, input_size) → outputs (T, B, output_size), state (forward_state, backward_state).

    output_size is forward + backward width ("concat") or their common width ("sum"). With
    "concat" the first `forward_size` columns are the forward direction's (`directions` = 2
    tells a pooling that the backward half ends at step 0)."""

    directions = 2

    def __init__(self, forward: Recurrent | RecurrentCell, backward: Recurrent | RecurrentCell, merge: str = "concat"):
        super().__init__()
        if merge not in ("concat", "sum"):
            raise ValueError(f"unknown merge {merge!r}; choose 'concat' or 'sum'")
        forward = forward if isinstance(forward, Recurrent) else Recurrent(forward)
        backward = backward if isinstance(backward, Recurrent) else Recurrent(backward, reverse=True)
        if forward.reverse or not backward.reverse:
            raise ValueError("Bidirectional: the forward layer must have reverse=False and the backward one reverse=True")
        if forward.batch_first != backward.batch_first:
            raise ValueError("Bidirectional: both layers must agree on batch_first")
        if forward.input_size != backward.input_size:
            raise ValueError(f"Bidirectional: input sizes differ ({forward.input_size} vs {backward.input_size})")
        if merge == "sum" and forward.output_size != backward.output_size:
            raise ValueError("Bidirectional: merge='sum' needs equal output sizes")
        self.forward_layer, self.backward_layer, self.merge = forward, backward, merge
        self.forward_size = forward.output_size  # the forward direction's columns of each output

    @property
    def input_size(self) -> int:
        return self.forward_layer.input_size

    @property
    def output_size(self) -> int:
        f, b = self.forward_layer.output_size, self.backward_layer.output_size
        return f + b if self.merge == "concat" else f

    @property
    def batch_first(self) -> bool:
        return self.forward_layer.batch_first

    def init_state(self, batch: int, device=None, dtype=None) -> tuple:
        return self.forward_layer.init_state(batch, device, dtype), self.backward_layer.init_state(batch, device, dtype)

    def forward(self, x: Tensor, state: tuple | None = None, lengths: Tensor | None = None) -> tuple[Tensor, tuple]:
        if state is not None and (not isinstance(state, (tuple, list)) or len(state) != 2):
            raise ValueError("Bidirectional: state must be a pair (forward_state, backward_state)")
        fs, bs = state if state is not None else (None, None)
        yf, fs = self.forward_layer(x, fs, lengths)
        yb, bs = self.backward_layer(x, bs, lengths)
        y = torch.cat([yf, yb], dim=-1) if self.merge == "concat" else yf + yb
        return y, (fs, bs)

    def extra_repr(self) -> str:
        return f"merge={self.merge!r}"
