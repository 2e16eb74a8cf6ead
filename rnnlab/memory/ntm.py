"""The Neural Turing Machine (Graves et al. 2014) as an rnnlab cell, so `Recurrent`, the trainer,
the Recorder and anything else built on the cell contract apply to it unchanged.

One step, x_t (B, D) → out_t (B, C + R·M):

    c_t, ctrl = controller([x_t, r_{t−1}], ctrl)          LSTM (or any registry cell) or feed-forward
    w^w_t = address(write heads(c_t), w^w_{t−1}, M_{t−1})  (addressing.py)
    M_t = M_{t−1} ∘ Π_h (1 − w^w_h e_hᵀ) + Σ_h w^w_h a_hᵀ  erase, then add (eq. 3, 4)
    w^r_t = address(read heads(c_t), w^r_{t−1}, M_t)
    r_t = Σ_i w^r_t(i) M_t(i)                              (eq. 2)
    out_t = [c_t, r_t]                                      a task model puts its output layer on it

Writing comes before reading, so what is written at step t can be read at step t. The state is the
tuple (out, controller state, read weightings (B, R·N), write weightings (B, W·N), memory (B, N·M)):
every leaf is (B, ·), so `Recurrent`'s padding selection and the state checks work as for any cell,
and its first leaf — what the Recorder calls h — is out_t. `step` reports the weightings as the
internals "read" and "write", which the Recorder keeps per step (the NTM figures' heatmaps).

Memory initialisation (`memory_init`): "constant" fills M_0 with `init_value` (Collier & Beel 2018
found a small constant the most reliable), "learned" makes M_0 a parameter. Both start every head's
weighting on row 0, so the first shift moves from a known place.

Speed: the step is ~100 small ops, so its cost is dispatch, not arithmetic. The eager step runs the
addressing as one autograd node with a hand-derived backward (address_function.py); `compile_step`
puts the whole step through torch.compile. Both equal the composite step (tests, bench/ntm_speed.py).
"""
from __future__ import annotations

import functools

import torch
from torch import Tensor, nn
from torch._C._functorch import peek_interpreter_stack

from rnnlab.cells.base import RecurrentCell, check_size
from rnnlab.cells.feedforward import FeedForwardCell
from rnnlab.cells.registry import CELLS, make_cell
from rnnlab.memory.address_function import address_fused
from rnnlab.memory.addressing import address
from rnnlab.memory.heads import Heads

MEMORY_INITS = ("constant", "learned")
CONTROLLERS = ("feedforward",) + tuple(CELLS)


class NTMCell(RecurrentCell):
    """NTMCell(input_size, controller_size=100, memory_slots=128, memory_width=20, read_heads=1,
    write_heads=1, shift_range=1, controller="lstm", memory_init="constant", init_value=1e-6,
    clip=20.0): see the module docstring. `hidden_size` = `output_size` = controller_size +
    read_heads · memory_width."""

    internals = ("read", "write")

    def __init__(self, input_size: int, controller_size: int = 100, memory_slots: int = 128, memory_width: int = 20,
                 read_heads: int = 1, write_heads: int = 1, shift_range: int = 1, *, controller: str = "lstm",
                 memory_init: str = "constant", init_value: float = 1e-6, clip: float = 20.0):
        super().__init__()
        self.input_size = check_size("NTMCell", "input_size", input_size)
        self.controller_size = check_size("NTMCell", "controller_size", controller_size)
        self.slots = check_size("NTMCell", "memory_slots", memory_slots)
        self.width = check_size("NTMCell", "memory_width", memory_width)
        self.read_heads = check_size("NTMCell", "read_heads", read_heads)
        self.write_heads = check_size("NTMCell", "write_heads", write_heads)
        self.shift_range = check_size("NTMCell", "shift_range", shift_range, minimum=0)
        if 2 * shift_range + 1 > memory_slots:
            raise ValueError(f"NTMCell: shifts -{shift_range}..{shift_range} need at least {2 * shift_range + 1} "
                             f"memory slots, got {memory_slots}")
        if memory_init not in MEMORY_INITS:
            raise ValueError(f"NTMCell: memory_init must be one of {', '.join(MEMORY_INITS)}, got {memory_init!r}")
        if controller not in CONTROLLERS:
            raise ValueError(f"NTMCell: controller must be one of {', '.join(CONTROLLERS)}, got {controller!r}")
        self.controller_name, self.memory_init, self.init_value = controller, memory_init, float(init_value)
        ctrl_in = input_size + read_heads * memory_width
        self.controller = (FeedForwardCell(ctrl_in, controller_size) if controller == "feedforward"
                           else make_cell(controller, ctrl_in, controller_size))
        self.read = Heads(controller_size, read_heads, memory_width, shift_range, write=False, clip=clip)
        self.write = Heads(controller_size, write_heads, memory_width, shift_range, write=True, clip=clip)
        if memory_init == "learned":
            self.memory0 = nn.Parameter(torch.empty(memory_slots, memory_width).uniform_(-0.1, 0.1))
        else:
            self.register_parameter("memory0", None)

    @property
    def hidden_size(self) -> int:
        return self.controller_size + self.read_heads * self.width

    def reset_parameters(self) -> None:  # the parts keep their own initialisation
        pass

    def initial_memory(self, device=None, dtype=None) -> Tensor:
        """M_0 (N, M): the constant, or the learned parameter."""
        p = next(self.parameters())
        device, dtype = device if device is not None else p.device, dtype if dtype is not None else p.dtype
        if self.memory0 is not None:
            return self.memory0.to(device=device, dtype=dtype)
        return torch.full((self.slots, self.width), self.init_value, device=device, dtype=dtype)

    def init_state(self, batch: int, device=None, dtype=None):
        mem0 = self.initial_memory(device, dtype)
        n, m = self.slots, self.width
        first = torch.zeros(n, device=mem0.device, dtype=mem0.dtype)
        first[0] = 1.0  # every head starts on row 0 (zeros(...)[0] = 1 also works on the meta device)
        read_w = first.repeat(batch, self.read_heads)                                        # (B, R·N)
        reads = mem0[0].repeat(batch, self.read_heads)                                       # r_0 = M_0(0)
        ctrl = self.controller.init_state(batch, mem0.device, mem0.dtype)
        out = torch.cat([self._zeros(batch, self.controller_size, mem0.device, mem0.dtype), reads], dim=1)
        return (out, ctrl, read_w, first.repeat(batch, self.write_heads),
                mem0.reshape(1, n * m).expand(batch, n * m))

    def compile_step(self, **options) -> "NTMCell":
        """Run `step` through `torch.compile` (options go to it; default: static shapes): the ~100
        small ops of one step — controller, heads, addressing, erase/add, read — and their backward
        become a few generated C++ loops, so a step costs far less interpreter and autograd overhead
        (bench/ntm_speed.py measures it, and checks the result against the eager step). The first
        call per batch size and grad mode compiles (minutes on a small CPU); parameters and state
        are unchanged, so a compiled cell saves and loads like any other. Returns the cell."""
        # the compiler traces the composite addressing (plain ops it can fuse), not the autograd.Function
        self._advance = torch.compile(functools.partial(self._eager_advance, address=address),
                                      **({"dynamic": False} | options))
        return self

    def step(self, x_t: Tensor, state):
        self.check_input(x_t, state)
        if peek_interpreter_stack() is not None:
            # under a torch.func transform (RTRL's vmap ∘ jacrev): plain ops — neither the custom
            # autograd.Function nor a compiled graph can be transformed
            out, state, rw, ww = self._eager_advance(x_t, state, address=address)
        else:
            out, state, rw, ww = self._advance(x_t, state)
        return out, state, {"read": rw, "write": ww}

    def _advance(self, x_t: Tensor, state):
        return self._eager_advance(x_t, state)

    def _eager_advance(self, x_t: Tensor, state, address=address_fused):
        """One step without the input check: (out, new state, read weightings, write weightings).
        `address`: the addressing as one autograd node with a hand-derived backward (fewer, larger
        ops: faster in eager mode) or the composite `addressing.address` (the same values)."""
        out_prev, ctrl, read_w, write_w, memory = state
        B, n, m = x_t.shape[0], self.slots, self.width
        c, ctrl = self.controller(torch.cat([x_t, out_prev[:, self.controller_size:]], dim=1), ctrl)
        memory = memory.reshape(B, n, m)

        wp = self.write(c)
        ww = address(wp.key, wp.strength, wp.gate, wp.shift, wp.gamma, write_w.view(B, self.write_heads, n), memory)
        keep = (1 - ww.unsqueeze(-1) * wp.erase.unsqueeze(2)).prod(dim=1)           # Π_h (1 − w_h e_hᵀ) (eq. 3)
        memory = memory * keep + torch.einsum("bhn,bhm->bnm", ww, wp.add)            # + Σ_h w_h a_hᵀ (eq. 4)

        rp = self.read(c)
        rw = address(rp.key, rp.strength, rp.gate, rp.shift, rp.gamma, read_w.view(B, self.read_heads, n), memory)
        reads = torch.einsum("bhn,bnm->bhm", rw, memory).reshape(B, self.read_heads * m)  # r = Σ_i w(i) M_i (eq. 2)

        out = torch.cat([c, reads], dim=1)
        rw, ww = rw.reshape(B, self.read_heads * n), ww.reshape(B, self.write_heads * n)
        return out, (out, ctrl, rw, ww, memory.reshape(B, n * m)), rw, ww

    def extra_repr(self) -> str:
        return (f"{self.input_size}, controller={self.controller_name}({self.controller_size}), "
                f"memory={self.slots}x{self.width}, heads={self.read_heads}r/{self.write_heads}w, "
                f"shifts=±{self.shift_range}, memory_init={self.memory_init}")
