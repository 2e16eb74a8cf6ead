"""Truncated BPTT over a long stream: k1 new steps per update, gradient through k2 steps.

Williams & Peng (1990): every k1 steps, back-propagate k2 steps (k2 ≥ k1). Update n owns the
steps [n·k1, n·k1 + k1) — its loss is taken there — and its forward pass starts k2 − k1 steps
before them, so even the earliest owned step's gradient flows k2 − k1 steps back, and the
latest one's k2. The state entering a window is detached: nothing flows further.

With k1 = k2 (the usual setting, Zaremba et al. 2014) each window starts where the last ended and
continues from its final state. With k2 > k1 the next window starts inside this one, at
`end − (k2 − k1)`; the forward pass is split there, so the state at that step is captured on the
way (the gradient still flows through it) and handed on — nothing is recomputed, and with dropout
the next window sees exactly the state this one computed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import torch
from torch import Tensor

from rnnlab.cells._state import State, detach
from rnnlab.errors import ConfigError

# run(start, end, state) -> (per-step losses of shape (end - start, ...), final state);
# state None means the model's initial state
RunFn = Callable[[int, int, "State | None"], tuple[Tensor, State]]


@dataclass(frozen=True)
class Window:
    """One update's span of the stream: forward over [start, end), loss on [own_start, end);
    `split` is where the next window starts (None when it starts at `end`)."""
    start: int       # first step run forward (the gradient stops here)
    loss_start: int  # first step whose loss this update owns
    end: int         # one past the last step


class Carry(NamedTuple):
    """The detached state one update hands the next, and the stream position it belongs to.
    A plain tuple (pos, state) works too — that is what a checkpoint gives back."""
    pos: int
    state: State


class TruncatedBPTT:
    """TruncatedBPTT(k1, k2=None): `windows(length)` cuts a stream of `length` steps into the
    updates' windows; `step(window, run, carry)` runs one — `run(start, end, state)` returns the
    per-step losses (end − start, ...) and the final state — and returns the owned steps' losses
    and the `Carry` (detached state at the next window's start) for the next update."""
    def __init__(self, k1: int, k2: int | None = None):
        k2 = k1 if k2 is None else k2
        if k1 < 1:
            raise ConfigError(f"truncated BPTT: k1 (steps per update) must be >= 1, got {k1}")
        if k2 < k1:
            raise ConfigError(
                f"truncated BPTT: k2 (steps back) must be >= k1 (steps per update), got k1={k1}, k2={k2}; "
                "with k2 < k1 the first k1 - k2 steps of each update would get no gradient"
            )
        self.k1, self.k2 = k1, k2

    def windows(self, length: int) -> list[Window]:
        """The updates covering a stream of `length` steps; the last may own fewer than k1."""
        lookback = self.k2 - self.k1
        return [Window(max(0, s - lookback), s, min(s + self.k1, length)) for s in range(0, length, self.k1)]

    def step(self, window: Window, run: RunFn, carry: Carry | None) -> tuple[Tensor, Carry]:
        """Forward one window with gradient: the mean loss over its owned steps, and the carry
        for the next window (`carry` is None at the start of the stream)."""
        if carry is None:
            if window.start != 0:
                raise ValueError(f"truncated BPTT: no carried state, but the window starts at step {window.start}")
            state = None
        else:
            pos, state = carry
            if pos != window.start:
                raise ValueError(f"truncated BPTT: the carried state is for step {pos}, the window starts at {window.start}")
        split = window.end - (self.k2 - self.k1)  # where the next window starts
        if window.start < split < window.end:
            first, mid = run(window.start, split, state)
            second, _ = run(split, window.end, mid)
            losses, handed = torch.cat([first, second]), Carry(split, detach(mid))
        else:
            losses, final = run(window.start, window.end, state)
            # split ≥ end: k1 = k2, continue from here; split ≤ 0: near the stream's start the
            # next window starts at step 0 again, from the initial state
            handed = Carry(window.end, detach(final)) if split >= window.end else None
        if losses.shape[0] != window.end - window.start:
            raise ValueError(f"run returned {losses.shape[0]} per-step losses for a window of {window.end - window.start} steps")
        return losses[window.loss_start - window.start:].mean(), handed
