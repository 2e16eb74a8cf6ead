"""Unroll any cell over a sequence — the one time loop of rnnlab.

    outputs, final_state = Recurrent(cell)(x, state, lengths)
    handle = layer.register_step_hook(hook)      # hook(layer, Step(t, x, out, state, internals))

See `Recurrent` for shapes, lengths, the fused and step paths, and step hooks.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Literal, NamedTuple, Optional

import torch
from torch import Tensor, nn
from torch._C._functorch import peek_interpreter_stack
from torch.utils.hooks import RemovableHandle

from rnnlab.cells._state import State, check_state
from rnnlab.cells.base import RecurrentCell
from rnnlab.layers.sequence import check_lengths, check_sequence, length_mask, reverse_padded


class Step(NamedTuple):
    """One step of the unroll as a step hook sees it.

    t: processing-order index (a reversed layer's t = 0 is each sequence's last element).
    x: (B, input_size), what the cell read (zeros at padded steps).
    out: (B, output_size) and state: the cell's new values, before padded steps are masked.
    internals: the dict from `cell.step` (names in `cell.internals`; {} for a cell without any).
    """

    t: int
    x: Tensor
    out: Tensor
    state: State
    internals: dict[str, Tensor]


StepHook = Callable[["Recurrent", Step], Optional[tuple[Tensor, State]]]


def state_where(keep_new: Tensor, new: State, old: State) -> State:
    """Per-row choice between two states (every leaf, integer ones too)."""
    if isinstance(new, Tensor):
        return torch.where(keep_new, new, old)
    return tuple(state_where(keep_new, n, o) for n, o in zip(new, old))


class Recurrent(nn.Module):
    """Run `cell` over a sequence: `outputs, final_state = layer(x, state=None, lengths=None)`.

    x: (T, B, input_size), or (B, T, input_size) with `batch_first`.
    state: the cell's state (`layer.init_state(B)` when None): a (B, ·) tensor or a nested tuple.
    lengths: (B,) integers in [1, T], or None (every sequence has T steps). Padded steps
      (t ≥ lengths[b]) are skipped *by selection*: the cell reads zeros there, the state is carried
      through unchanged and the output is exactly 0, so the final state is each sequence's own last
      state and neither values nor gradients of the padded input (NaN included) reach anything.
    outputs: (T, B, output_size) (batch first if the layer is); final_state: like `state`, and can
      be passed back in to continue the sequences (stateful use; detach it to truncate BPTT).
    reverse: read each sequence from its own last step back to its first (padding stays at the
      end); outputs are returned in input order.

    Two paths compute the same thing. The *fused* path runs the cell's `fused_scan` (one
    hand-derived BPTT autograd.Function for the whole sequence) when the cell has one for its
    configuration; the *step* path (`reference_scan`) calls the cell once per step and lets autograd
    derive BPTT. `fused="auto"` picks the fused path when it exists, `False` always steps, `True`
    raises if there is no fused path.

    Step hooks: `handle = layer.register_step_hook(hook)` makes every call step, and after each
    step calls `hook(layer, Step(t, x, out, state, internals))` — the cell's new values before
    padding is masked; the hook may return None or a replacement `(out, state)`, which the next hook
    and the rest of the unroll see. Hooks run in registration order; `handle.remove()` removes one.
    The fused kernels keep no per-step values, so a registered hook wins over `fused=True`; so does
    a torch.func transform (vmap, grad, jacrev), which cannot trace the kernels' in-place buffers.
    Second derivatives (create_graph=True) and batched gradients (is_grads_batched=True) work on
    both paths: the fused kernels then differentiate their plain-ops reference (cells/_bptt.py).
    """

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
        # a cell's sizes are fixed when it is built, so the layer copies them rather than delegating
        self.input_size, self.output_size = cell.input_size, cell.output_size
        self._step_hooks: OrderedDict[int, StepHook] = OrderedDict()

    def init_state(self, batch: int, device=None, dtype=None) -> State:
        return self.cell.init_state(batch, device, dtype)

    def register_step_hook(self, hook: StepHook) -> RemovableHandle:
        """Call `hook(layer, step)` after every step of every call until `handle.remove()`."""
        if not callable(hook):
            raise TypeError(f"a step hook must be callable, got {type(hook).__name__}")
        handle = RemovableHandle(self._step_hooks)
        self._step_hooks[handle.id] = hook
        return handle

    def forward(self, x: Tensor, state: State | None = None, lengths: Tensor | None = None) -> tuple[Tensor, State]:
        p = next(self.cell.parameters(), None)
        if p is not None and isinstance(x, Tensor) and _autocast_on(x.device.type):
            # mixed precision (--amp, rnnlab.train.device): the layers around the recurrence are
            # autocast, the recurrence itself runs in its weights' dtype — its state is carried over
            # many steps, where rounding to 8 bits of mantissa would compound, and its hand-derived
            # BPTT kernels are float32/float64
            with torch.autocast(x.device.type, enabled=False):
                return self._forward(x.to(p.dtype), _cast(state, p.dtype), lengths)
        return self._forward(x, state, lengths)

    def _forward(self, x: Tensor, state: State | None = None, lengths: Tensor | None = None) -> tuple[Tensor, State]:
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
                # padded input may be anything (NaN from a collate): the cell reads zeros instead, so
                # its discarded values stay finite and 0 · ∂ in the backward pass stays 0
                x = torch.where(mask.unsqueeze(-1), x, torch.zeros((), dtype=x.dtype, device=x.device))
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
        # the fused kernels write into buffers in place, which torch.func transforms (vmap, grad,
        # jacrev, functional per-sample gradients) cannot trace: under one, step with plain ops
        if self._step_hooks or peek_interpreter_stack() is not None:
            return self.reference_scan(x, state, mask)
        fused = getattr(self.cell, "fused_scan", None) if self.fused else None
        result = fused(x, state, None if mask is None else mask.to(x.dtype)) if fused is not None else None
        if result is not None:
            return result
        if self.fused is True:
            raise ValueError(f"fused=True, but {self.cell!r} has no hand-derived BPTT for this configuration")
        return self.reference_scan(x, state, mask)

    def reference_scan(self, x: Tensor, state: State, mask: Tensor | None) -> tuple[Tensor, State]:
        """The step path: x (T, B, D) in processing order, mask (T, B) bool or None → outputs
        (T, B, output_size), final state. Autograd derives BPTT through it; step hooks run here."""
        hooks = list(self._step_hooks.values())
        outputs = []
        for t in range(x.shape[0]):
            if hooks:
                out, new, internals = self.cell.step(x[t], state)
                for hook in hooks:
                    replaced = hook(self, Step(t, x[t], out, new, internals))
                    if replaced is not None:
                        out, new = replaced
            else:  # the module call, so that torch hooks on the cell still fire
                out, new = self.cell(x[t], state)
            if mask is not None:  # select, never multiply: 0 · NaN would be NaN
                m = mask[t].unsqueeze(1)  # (B, 1)
                new = state_where(m, new, state)
                out = torch.where(m, out, torch.zeros((), dtype=out.dtype, device=out.device))
            outputs.append(out)
            state = new
        return torch.stack(outputs), state

    def extra_repr(self) -> str:
        return f"reverse={self.reverse}, batch_first={self.batch_first}, fused={self.fused!r}"


def _autocast_on(device_type: str) -> bool:
    try:
        return torch.is_autocast_enabled(device_type)
    except TypeError:  # torch < 2.4: no device argument
        return torch.is_autocast_cpu_enabled() if device_type == "cpu" else torch.is_autocast_enabled()
    except RuntimeError:  # a device type autocast does not know (meta: shape checks, device audits)
        return False


def _cast(state, dtype):
    """A carried state (a tensor or nested tuples of them) in `dtype`."""
    if isinstance(state, Tensor):
        return state.to(dtype) if state.is_floating_point() else state
    if isinstance(state, tuple):
        return tuple(_cast(s, dtype) for s in state)
    return state
