"""RTRL over a whole encoder: one influence per layer, stepped forward with the state.

    engine = RTRL(encoder, "rtrl" | "snap1" | "snap2" | "uoro" | "diag")
    engine.reset(batch)                       # initial state (or `state=`), zero influence
    y_t = engine.step(x_t, mask_t)            # (B, O): the top layer's output, no graph kept
    c_x = engine.backward(∂L_t/∂y_t)          # adds ∂L_t/∂θ to engine.grads; credit for x_t
    engine.grads → {parameter: gradient}, summed over backward() calls since `zero_grads()`

Nothing is kept across steps except the states and influences, so memory does not depend on
the stream's length. The encoder is a cell, a `Recurrent` or a `Stacked` of forward `Recurrent`
layers (no bidirectional layer — it reads the future —, no residual connection, no dropout
between layers).

Multi-layer. "rtrl" is exact: layer l's influence has a column for every parameter at or below
it, including the input module's when `step` gets its Jacobian `dx` (exact.py states the cost).
The approximations keep each layer's influence on its own parameters only and credit lower
layers through the current step: c_{l−1} = c_l ∂y^l_t/∂y^{l−1}_t — the cross-layer blocks of J
are dropped (for UORO and SnAp alike, as when those methods are applied layer by layer).
The returned input credit c_x is likewise immediate (∂y_t/∂x_t): an input module trained from it
(an embedding) gets the one-step gradient, unless exact RTRL is given `dx`.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnlab.cells._state import State
from rnnlab.cells.base import RecurrentCell
from rnnlab.errors import ConfigError
from rnnlab.layers.recurrent import Recurrent, state_where
from rnnlab.layers.stacked import Stacked
from rnnlab.train.rtrl.exact import ExactInfluence
from rnnlab.train.rtrl.kernels import step_jacobian
from rnnlab.train.rtrl.snap import SnapInfluence
from rnnlab.train.rtrl.uoro import UOROInfluence

METHODS = {
    "rtrl": "exact RTRL (Williams & Zipser 1989): the full influence matrix, O(S·P) memory, O(S²·P) time per step",
    "snap1": "SnAp-1 (Menick et al. 2021): the influence on the immediate sparsity pattern only",
    "snap2": "SnAp-2: the pattern two steps of the recursion reach",
    "uoro": "UORO (Tallec & Ollivier 2018): unbiased rank-one estimate of the influence",
    "diag": "exact RTRL for an element-wise recurrence (IndRNN, element-wise LSTM) at O(P) cost (refuses other cells)",
}


def encoder_cells(encoder: nn.Module) -> list[RecurrentCell]:
    """The cells of `encoder` bottom to top, or ConfigError naming what RTRL cannot run."""
    if isinstance(encoder, RecurrentCell):
        return [encoder]
    if isinstance(encoder, Recurrent):
        if encoder.reverse:
            raise ConfigError("RTRL runs forward in time: a reversed (or bidirectional) layer reads the future")
        return [encoder.cell]
    if isinstance(encoder, Stacked):
        if encoder.residual:
            raise ConfigError("RTRL: residual connections between layers are not supported")
        if encoder.dropout:
            raise ConfigError("RTRL: dropout between layers is not supported (set dropout 0)")
        cells = []
        for layer in encoder.layers:
            if not isinstance(layer, Recurrent):
                raise ConfigError(f"RTRL runs forward in time: a {type(layer).__name__} layer is not supported "
                                  "(bidirectional layers read the future)")
            cells += encoder_cells(layer)
        return cells
    raise ConfigError(f"RTRL needs a cell, a Recurrent or a Stacked encoder, got {type(encoder).__name__}")


def probe_patterns(cell, x: Tensor, state: State, generic: bool, probes: int = 4):
    """Where D and each block of M̄ can be nonzero, for a cell without a hand-written structure:
    the union over a few random inputs and states (a fixed private seed: the run's RNG is
    untouched). A weight that is exactly 0 at every probe point still counts as structural."""
    from rnnlab.train.rtrl.generic import flatten_state, rebuild_state
    gen = torch.Generator(device="cpu").manual_seed(0)
    D, blocks = None, None
    for _ in range(probes):
        xr = torch.randn(x.shape, generator=gen, dtype=x.dtype).to(x.device)
        flat = flatten_state(state)
        sr = rebuild_state(state, torch.randn(flat.shape, generator=gen, dtype=flat.dtype).to(flat.device))
        jac = step_jacobian(cell, xr, sr, generic)
        d, b = jac.D.ne(0).any(0), [blk.pattern() for blk in jac.blocks]
        D = d if D is None else D | d
        blocks = b if blocks is None else [p | q for p, q in zip(blocks, b)]
    return D, blocks


def make_influence(method: str, own: int, below: int, generator=None):
    if method == "rtrl":
        return ExactInfluence(own, below)
    if method in ("snap1", "snap2", "diag"):
        return SnapInfluence(2 if method == "snap2" else 1, require_exact=method == "diag")
    if method == "uoro":
        return UOROInfluence(generator)
    raise ConfigError(f"unknown RTRL method {method!r}; choose one of: {', '.join(METHODS)}")


class RTRL:
    """Forward-mode gradients of an encoder's parameters, step by step (see the module docstring).
    `input_params`: the number of input-module parameters whose Jacobian `step` will get as `dx`
    (exact RTRL only); `generic`: use torch.func Jacobians even for the hand-derived cells."""

    def __init__(self, encoder: nn.Module, method: str = "rtrl", *, input_params: int = 0, generic: bool = False,
                 generator: torch.Generator | None = None):
        if method not in METHODS:
            raise ConfigError(f"unknown RTRL method {method!r}; choose one of: {', '.join(METHODS)}")
        if input_params and method != "rtrl":
            raise ConfigError("only exact RTRL tracks the input module's influence; the approximations credit it "
                              "through the current step")
        self.encoder, self.method, self.generic = encoder, method, generic
        self.cells = encoder_cells(encoder)
        if method == "diag" and len(self.cells) > 1:
            raise ConfigError("exact element-wise RTRL (diag) is for one layer: a layer above mixes the units of the "
                              "one below, so their cross influence is dense; use rtrl, or snap1 per layer")
        self.params = [list(c.parameters()) for c in self.cells]
        self.input_params = input_params
        below, self.influences = input_params, []
        for ps in self.params:
            own = sum(p.numel() for p in ps)
            self.influences.append(make_influence(method, own, below, generator))
            below += own
        self.zero_grads()
        self.states: list[State] | None = None

    @property
    def parameters(self) -> list[nn.Parameter]:
        return [p for ps in self.params for p in ps]

    def influence_size(self) -> int:
        """Exact RTRL's influence numbers per stream: Σ_l S_l · (P_below + P_l) (exact.py)."""
        from rnnlab.cells._state import leaves
        total, below = 0, self.input_params
        for cell, inf in zip(self.cells, self.influences):
            S = sum(leaf.shape[-1] for leaf in leaves(cell.init_state(1, torch.device("meta")))
                    if leaf.is_floating_point())
            own = sum(p.numel() for p in cell.parameters())
            total, below = total + S * (below + own), below + own
        return total

    def zero_grads(self) -> None:
        self.grads = {p: torch.zeros_like(p) for p in self.parameters}
        self.input_grad = None

    def reset(self, batch: int, state: State | None = None, device=None, dtype=None) -> None:
        """Start a stream: `state` (the encoder's layout: one entry per layer of a Stacked) or the
        initial state; zero influence."""
        p = next(iter(self.parameters), None)
        device = device or (p.device if p is not None else None)
        dtype = dtype or (p.dtype if p is not None else torch.get_default_dtype())
        if state is None:
            states = [c.init_state(batch, device, dtype) for c in self.cells]
        else:
            states = list(state) if isinstance(self.encoder, Stacked) else [state]
        self.states = states
        from rnnlab.train.rtrl.generic import flatten_state
        self.influence = [inf.init(batch, flatten_state(s).shape[1], device, dtype)
                          for inf, s in zip(self.influences, states)]
        self._handles = None

    def state(self) -> State:
        """The encoder's state now (its own layout)."""
        return tuple(self.states) if isinstance(self.encoder, Stacked) else self.states[0]

    @torch.no_grad()
    def step(self, x: Tensor, mask: Tensor | None = None, dx: Tensor | None = None) -> Tensor:
        """Advance every layer one step: x (B, D), mask (B,) bool (False: a padded step, nothing
        changes and the output is 0), dx (B, D, input_params) for exact RTRL. Returns y_t (B, O)."""
        if self.states is None:
            raise RuntimeError("RTRL.step before reset()")
        if (dx is None) != (self.input_params == 0):
            raise ValueError(f"RTRL was made for {self.input_params} input parameters: pass dx exactly then")
        below, handles = dx, []
        for l, (cell, inf) in enumerate(zip(self.cells, self.influences)):
            needs = isinstance(inf, SnapInfluence) and inf.layout is None
            jac = step_jacobian(cell, x, self.states[l], self.generic, structure=needs)
            if needs and jac.D_pattern is None:
                jac.D_pattern, jac.block_patterns = probe_patterns(cell, x, self.states[l], self.generic)
            out, new = jac.out, jac.state
            if mask is not None:
                new = state_where(mask.view(-1, 1), new, self.states[l])
                out = torch.where(mask.view(-1, 1), out, torch.zeros((), dtype=out.dtype, device=out.device))
            self.influence[l], handle = inf.step(jac, self.influence[l], mask, below)
            below = handle if inf.exact else None
            handles.append((handle, jac.X[:, jac.out_rows], mask))
            self.states[l], x = new, out
        self._handles = handles
        return x

    @torch.no_grad()
    def backward(self, c: Tensor) -> Tensor:
        """Add c · ∂y_t/∂θ (c = ∂L/∂y_t, (B, O)) to `grads`; return the credit of x_t, c ∂y_t/∂x_t (immediate)."""
        if self._handles is None:
            raise RuntimeError("RTRL.backward before step()")
        if self.method == "rtrl":
            flat = ExactInfluence.gradient(self._handles[-1][0], c)
            parts = flat.split([self.input_params] + [p.numel() for p in self.parameters])
            if self.input_params:
                self.input_grad = parts[0] if self.input_grad is None else self.input_grad + parts[0]
            for p, g in zip(self.parameters, parts[1:]):
                self.grads[p] += g.view(p.shape)
        for l in reversed(range(len(self.cells))):
            handle, X_out, mask = self._handles[l]
            if mask is not None:
                c = torch.where(mask.view(-1, 1), c, torch.zeros((), dtype=c.dtype, device=c.device))
            if self.method != "rtrl":
                shapes = [p.shape for p in self.params[l]]
                for p, g in zip(self.params[l], self.influences[l].gradients(handle, c, shapes)):
                    self.grads[p] += g
            c = torch.einsum("bo,box->bx", c, X_out)
        return c

    # --- checkpoints: the carried state and influence as nested tuples of tensors ---------------

    def carry(self) -> tuple:
        """(states, influences, SnAp layouts) as nested tuples of tensors, for checkpoints: a run
        resumed from it continues with the same influence matrices (and the same sparsity pattern)."""
        def pack(v):
            if v is None or isinstance(v, Tensor):
                return v
            return tuple(pack(x) for x in v)
        layouts = tuple(pack(inf.layout) if isinstance(inf, SnapInfluence) else None for inf in self.influences)
        return tuple(self.states), tuple(pack(v) for v in self.influence), layouts

    def load_carry(self, carry) -> None:
        states, influence, layouts = carry
        self.states = list(states)
        self.influence = [v if v is None or isinstance(v, Tensor) else
                          (list(v) if isinstance(inf, SnapInfluence) else tuple(v))
                          for v, inf in zip(influence, self.influences)]
        for inf, layout in zip(self.influences, layouts):
            if isinstance(inf, SnapInfluence) and layout is not None:
                inf.layout = [tuple(entry) for entry in layout]
        self._handles = None
