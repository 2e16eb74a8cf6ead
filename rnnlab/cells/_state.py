"""Helpers for recurrent states.

A state is a tensor or a (possibly nested) tuple of tensors: Elman and GRU carry `h`, LSTM
carries `(h, c)`, wrappers nest their inner cell's state. These functions treat every state alike,
so the layers and wrappers never need to know which cell they hold.
"""
from __future__ import annotations

from typing import Callable, Union

from torch import Tensor

State = Union[Tensor, tuple]


def state_map(fn: Callable[..., Tensor], *states: State) -> State:
    """Apply `fn` leaf-wise to floating-point tensors of same-structured states.

    Integer leaves (e.g. a clockwork step counter) are taken from the last state unchanged:
    blending or masking a counter has no meaning.
    """
    first = states[0]
    if isinstance(first, Tensor):
        return fn(*states) if first.is_floating_point() else states[-1]
    return tuple(state_map(fn, *parts) for parts in zip(*states))


def leaves(state: State) -> list[Tensor]:
    """All tensors of a state, depth first."""
    if isinstance(state, Tensor):
        return [state]
    return [leaf for part in state for leaf in leaves(part)]


def hidden_of(state: State) -> Tensor:
    """The hidden vector of a state: by convention its first leaf (h of `(h, c)`)."""
    return state if isinstance(state, Tensor) else hidden_of(state[0])


def replace_hidden(state: State, h: Tensor) -> State:
    """The same state with its first leaf replaced by `h`."""
    if isinstance(state, Tensor):
        return h
    return (replace_hidden(state[0], h),) + tuple(state[1:])


def check_state(state: State, expected: State, where: str = "state") -> None:
    """Raise a ValueError naming the first leaf whose structure, shape or dtype is wrong."""
    if isinstance(expected, Tensor):
        if not isinstance(state, Tensor):
            raise ValueError(f"{where}: expected a tensor of shape {tuple(expected.shape)}, got {type(state).__name__}")
        if state.shape != expected.shape:
            raise ValueError(f"{where}: expected shape {tuple(expected.shape)}, got {tuple(state.shape)}")
        if state.is_floating_point() != expected.is_floating_point() or (
                expected.is_floating_point() and state.dtype != expected.dtype):
            # an integer h0 would be silently cast or fail deep in torch; a float step counter is meaningless
            raise TypeError(f"{where}: expected dtype {expected.dtype}, got {state.dtype}")
        return
    if not isinstance(state, (tuple, list)) or len(state) != len(expected):
        raise ValueError(f"{where}: expected a tuple of {len(expected)} parts, got {_describe(state)}")
    for i, (s, e) in enumerate(zip(state, expected)):
        check_state(s, e, f"{where}[{i}]")


def _describe(state) -> str:
    if isinstance(state, Tensor):
        return f"a tensor of shape {tuple(state.shape)}"
    if isinstance(state, (tuple, list)):
        return f"a tuple of {len(state)} parts"
    return type(state).__name__


def detach(state: State) -> State:
    """Cut the graph behind a carried state (truncated BPTT across batches)."""
    if isinstance(state, Tensor):
        return state.detach()
    return tuple(detach(part) for part in state)

