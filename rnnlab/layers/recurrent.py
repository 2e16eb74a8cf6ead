"""Unroll any cell over a sequence: `outputs, final_state = Recurrent(cell)(x, state, lengths)`.

x is (T, B, D) (or (B, T, D) with batch_first). Padded steps (t ≥ lengths[b]) leave the state as
it was and output zeros, so the final state is the state after each sequence's own last step and
no gradient reaches padded inputs. The final state can be passed back in as `state` (stateful use).

If the cell has a hand-derived BPTT (`cell.fused_scan`) it runs the whole sequence in one
autograd.Function; `fused=False` forces the step-by-step autograd reference, `fused=True`
raises if the cell has no fused path for its configuration.
"""
from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from rnnlab.cells._state import State, check_state
from rnnlab.cells.base import RecurrentCell
from rnnlab.layers.sequence import check_lengths, check_sequence, length_mask, reverse_padded


def state_where(keep_new: Tensor, new: State, old: State) -> State:
    """Per-row choice between two states (every leaf, integer ones too)."""
    if isinstance(new, Tensor):
        return torch.where(keep_new, new, old)
    return tuple(state_where(keep_new, n, o) for n, o in zip(new, old))


class Recurrent(nn.Module):
    def __init__(
        self,
        cell: RecurrentCell,
        *,
        reverse: bool = False,
        batch_first: bool = False,
        fused: bool | Literal["auto"] = "auto",
    ):
        super().__init__()
        if not isinstance(cell, RecurrentCell):
            raise TypeError(f"Recurrent needs an rnnlab cell, got {type(cell).__name__}")
        if fused not in (True, False, "auto"):
            raise ValueError(f"fused must be True, False or 'auto', got {fused!r}")
        self.cell, self.reverse, self.batch_first, self.fused = cell, reverse, batch_first, fused

    @property
    def input_size(self) -> int:
        return self.cell.input_size

    @property
    def output_size(self) -> int:
        return self.cell.output_size

    def init_state(self, batch: int, device=None, dtype=None) -> State:
        return self.cell.init_state(batch, device, dtype)

    def forward(self, x: Tensor, state: State | None = None, lengths: Tensor | None = None) -> tuple[Tensor, State]:
        name = f"Recurrent({type(self.cell).__name__})"
        if self.batch_first and isinstance(x, Tensor) and x.dim() == 3:
            x = x.transpose(0, 1)
        check_sequence(x, self.cell.input_size, name)
        T, B = x.shape[:2]
        expected = self.cell.init_state(B, x.device, x.dtype)
        p = next(self.cell.parameters(), None)
        if p is not None and p.dtype != x.dtype:
            raise TypeError(f"{name}: input dtype {x.dtype} does not match parameter dtype {p.dtype} (convert one with .to())")
        if state is None:
            state = expected
        else:
            check_state(state, expected, f"{name}: initial state")
        mask = None
        if lengths is not None:
            lengths = check_lengths(lengths, T, B, x.device, name)
            if bool((lengths < T).any()):
                mask = length_mask(lengths, T)
            else:
                lengths = None  # every sequence is full: no masking needed
        if self.reverse:
            x = reverse_padded(x, lengths)
        outputs, state = self._scan(x, state, mask)
        if self.reverse:
            outputs = reverse_padded(outputs, lengths)
        if self.batch_first:
            outputs = outputs.transpose(0, 1)
        return outputs, state

    def _scan(self, x: Tensor, state: State, mask: Tensor | None) -> tuple[Tensor, State]:
        fused = getattr(self.cell, "fused_scan", None) if self.fused else None
        result = fused(x, state, None if mask is None else mask.to(x.dtype)) if fused is not None else None
        if result is not None:
            return result
        if self.fused is True:
            raise ValueError(f"fused=True, but {self.cell!r} has no hand-derived BPTT for this configuration")
        return self.reference_scan(x, state, mask)

    def reference_scan(self, x: Tensor, state: State, mask: Tensor | None) -> tuple[Tensor, State]:
        """Plain step-by-step unroll; autograd derives BPTT through it."""
        outputs = []
        for t in range(x.shape[0]):
            out, new = self.cell(x[t], state)
            if mask is not None:
                m = mask[t].unsqueeze(1)  # (B, 1)
                new = state_where(m, new, state)
                out = out * m
            outputs.append(out)
            state = new
        return torch.stack(outputs), state

    def extra_repr(self) -> str:
        return f"reverse={self.reverse}, batch_first={self.batch_first}, fused={self.fused!r}"
