"""What every rnnlab cell is: an `nn.Module` that advances one time step.

    out_t, state = cell(x_t, state)        # x_t: (B, input_size)
    state = cell.init_state(batch, device, dtype)     # zeros, or whatever the cell starts from
    out_t, state, internals = cell.step(x_t, state)   # the same step, plus named internal values

`internals` maps the names in `cell.internals` (an LSTM's "i", "f", "g", "o", "c"; a GRU's "r",
"z", "n") to (B, units) tensors: the values the step computed, for recording and analysis.

Sizes every cell exposes, so layers can be composed and checked before running:
`input_size`, `hidden_size`, `output_size` (width of out_t) and `state_size` (width of the
state's leaves, which is what per-unit wrappers such as `LeakyCell` act on).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from rnnlab.cells._state import State, check_state


def check_size(owner: str, name: str, value, minimum: int = 1) -> int:
    """`value` as a size: an int (not a bool, not 2.5) >= `minimum`. Every cell constructor checks
    its sizes here, so `ElmanCell(4, -2)` fails when made, naming the argument, not in torch."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{owner}: {name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{owner}: {name} must be >= {minimum}, got {value}")
    return value


class RecurrentCell(nn.Module):
    """The cell contract: one time step of a recurrent network (see the module docstring).

    x_t (B, input_size) → out_t (B, output_size); the state is what `init_state(B, device, dtype)`
    returns (a tensor or a nested tuple of tensors, each leaf (B, ·)) and what each step returns.
    `step(x_t, state)` → (out_t, state, internals), internals a dict from the names in
    `cell.internals` to (B, units) tensors; `cell(x_t, state)` is the same step without them.
    A subclass implements `step` (forward follows) or, with no internals, just `forward`.
    Cells with a hand-derived BPTT also offer `fused_scan(x (T, B, D), state, mask (T, B) | None)`
    → (outputs (T, B, output_size), final state), or None where it does not apply.
    """

    input_size: int
    hidden_size: int
    internals: tuple[str, ...] = ()  # names of the values `step` reports besides out_t and the state

    @property
    def output_size(self) -> int:
        return self.hidden_size

    @property
    def state_size(self) -> int:
        return self.hidden_size

    def init_state(self, batch: int, device=None, dtype=None) -> State:
        raise NotImplementedError

    def step(self, x_t: Tensor, state: State) -> tuple[Tensor, State, dict[str, Tensor]]:
        """One step like `cell(x_t, state)`, plus the internal values named in `internals`, each
        (B, units). A cell with internals implements `step` and inherits `forward`."""
        out, state = self(x_t, state)
        return out, state, {}

    def forward(self, x_t: Tensor, state: State) -> tuple[Tensor, State]:
        """(out_t, new state): `step` without the internals."""
        if type(self).step is RecurrentCell.step:  # neither overridden: step would call forward again
            raise NotImplementedError(f"{type(self).__name__} must implement step or forward")
        out, state, _ = self.step(x_t, state)
        return out, state

    def carried(self, state: State) -> dict[str, Tensor]:
        """The internals that are leaves of the state, read from `state` (an LSTM's {"c": c}): a
        wrapper that changes the carried state reports these from the state it carries."""
        return {}

    def reset_parameters(self) -> None:
        """torch.nn's initialisation for recurrent cells: U(-1/√H, 1/√H) for every parameter."""
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0.0
        for p in self.parameters(recurse=False):
            nn.init.uniform_(p, -bound, bound)

    def _zeros(self, batch: int, size: int, device, dtype) -> Tensor:
        p = next(self.parameters(), None)
        device = device if device is not None else (p.device if p is not None else None)
        dtype = dtype if dtype is not None else (p.dtype if p is not None else torch.get_default_dtype())
        return torch.zeros(batch, size, device=device, dtype=dtype)

    def check_input(self, x_t: Tensor, state: State | None = None) -> None:
        """Raise a ValueError or TypeError naming what is wrong with one step of input and, when
        given, the state it is read with (its structure, shapes and dtype: an LSTM's (h, c) pair
        of floating tensors of the parameters' dtype, not a tuple for a GRU or `(h0, None)`)."""
        if not isinstance(x_t, Tensor):
            raise TypeError(f"{type(self).__name__}: input must be a tensor, got {type(x_t).__name__}")
        if x_t.dim() != 2:
            raise ValueError(
                f"{type(self).__name__}: one step of input must be 2-D (batch, {self.input_size}), "
                f"got shape {tuple(x_t.shape)}"
            )
        if x_t.shape[1] != self.input_size:
            raise ValueError(
                f"{type(self).__name__}: expected input size {self.input_size}, got {x_t.shape[1]} "
                f"(input shape {tuple(x_t.shape)})"
            )
        if not x_t.is_floating_point():
            raise TypeError(f"{type(self).__name__}: input must be floating point, got {x_t.dtype}")
        p = next(self.parameters(), None)
        if p is not None and x_t.dtype != p.dtype:
            raise TypeError(
                f"{type(self).__name__}: input dtype {x_t.dtype} does not match parameter dtype {p.dtype} "
                f"(convert one with .to())"
            )
        if state is not None and _layout(state) != self._state_layout(x_t.shape[0], x_t.dtype):
            # the slow walk only to name what differs; a well-formed state costs one cheap comparison
            expected = self.init_state(x_t.shape[0], torch.device("meta"), x_t.dtype)
            check_state(state, expected, f"{type(self).__name__}: state")

    def _state_layout(self, batch: int, dtype):
        """`_layout(init_state(batch))`, computed once per (batch, dtype): a cell's state layout is
        fixed when the cell is built, and the step path checks the state at every step."""
        layouts = self.__dict__.setdefault("_state_layouts", {})
        key = (batch, dtype)
        if key not in layouts:
            layouts[key] = _layout(self.init_state(batch, torch.device("meta"), dtype))
        return layouts[key]

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"


def _layout(state):
    """A state's structure with each tensor replaced by (shape, dtype): equal layouts are states
    `check_state` accepts; anything that is not a tensor or a tuple of states gives None."""
    if isinstance(state, Tensor):
        return state.shape, state.dtype
    if isinstance(state, tuple):
        return tuple(_layout(part) for part in state)
    return None
