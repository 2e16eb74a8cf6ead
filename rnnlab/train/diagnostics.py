"""How the gradient reaching each hidden state changes with distance: vanishing and exploding.

An RNN learns a dependency between steps t and T only through ∂L/∂h_t, the *total* derivative of
the loss with respect to the hidden state at step t, which back-propagation through time builds as

    ∂L/∂h_t = ∂L/∂out_t · ∂out_t/∂h_t  +  ∂L/∂h_{t+1} · ∂h_{t+1}/∂h_t,

a product of T − t Jacobians for a loss on the last step. If those Jacobians shrink vectors the
norm decays geometrically going back in time (vanishing), if they stretch them it grows
(exploding) — Bengio, Simard & Frasconi 1994; Pascanu, Mikolov & Bengio 2013. Plotting
‖∂L/∂h_t‖ against t shows which one a cell does, and how far back it can still learn.

Autograd never materialises ∂L/∂h_t for an intermediate state, so we add a zero "probe" p_t to
each new hidden state: the forward pass is unchanged, and ∂L/∂p_t = ∂L/∂h_t exactly. The probes
are added by a step hook on the layer's own unroll (so the step path runs, never the fused
kernels) and the whole graph is kept: an analysis tool, not something to call inside a training
loop.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from rnnlab.cells._state import State, hidden_of, replace_hidden
from rnnlab.layers.recurrent import Recurrent, Step

LossFn = Callable[[Tensor, State], Tensor]


def hidden_gradient_norms(
    layer: Recurrent,
    x: Tensor,
    loss_fn: LossFn,
    state: State | None = None,
    *,
    per_example: bool = False,
) -> Tensor:
    """‖∂L/∂h_t‖ for every step t of `layer` run over `x`.

    layer: an `rnnlab.Recurrent` (run with a probing step hook; `reverse` and `batch_first` honoured).
    x: (T, B, D), or (B, T, D) if `layer.batch_first`.
    loss_fn(outputs, final_state) -> scalar tensor; `outputs` is shaped as `layer(x)` returns it.
    state: initial state (default: the cell's `init_state`).

    Returns (T,) — the Frobenius norm of the (B, H) gradient — or (T, B) with `per_example=True`,
    detached, in input order (for a reversed layer, index t is still input position t).

    The layer's train/eval mode is left as the caller set it: in training mode a stochastic cell
    (Zoneout, RecurrentDropout) draws its noise as usual.
    """
    if not isinstance(layer, Recurrent):
        raise TypeError(f"hidden_gradient_norms needs an rnnlab.Recurrent layer, got {type(layer).__name__}")
    if not isinstance(x, Tensor) or x.dim() != 3:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        layout = "(batch, time, features)" if layer.batch_first else "(time, batch, features)"
        raise ValueError(f"hidden_gradient_norms: x must be 3-D {layout}, got {shape}")
    T = x.shape[1] if layer.batch_first else x.shape[0]
    probes: dict[int, Tensor] = {}  # input position → p_t
    # steps whose output is not the hidden tensor itself (e.g. DeepOutput's head(h)): the probe
    # then sees only the paths through later steps; _direct_term adds the rest
    separate_out: dict[int, tuple[Tensor, Tensor]] = {}

    def probe(_layer: Recurrent, step: Step) -> tuple[Tensor, State]:
        t = T - 1 - step.t if layer.reverse else step.t  # no lengths: reversal is a plain flip
        h = hidden_of(step.state)
        probes[t] = torch.zeros_like(h, requires_grad=True)
        probed = h + probes[t]  # same value; ∂L/∂p_t = ∂L/∂h_t
        if step.out is h:  # the loss reaches h_t through the output too: one probe sees both
            return probed, replace_hidden(step.state, probed)
        separate_out[t] = (step.out, h)
        return step.out, replace_hidden(step.state, probed)

    # enable_grad: the probes must be recorded even if the caller is inside torch.no_grad()
    with torch.enable_grad():
        handle = layer.register_step_hook(probe)
        try:
            outputs, final = layer(x, state)
        finally:
            handle.remove()  # before loss_fn, which may run the layer again
        loss = loss_fn(outputs, final)
        _check_loss(loss)
        wrt = [probes[t] for t in range(T)] + [out for out, _ in separate_out.values()]
        found = torch.autograd.grad(loss, wrt, allow_unused=True, retain_graph=bool(separate_out))
        found = [torch.zeros_like(w) if g is None else g for g, w in zip(found, wrt)]
        grads = found[:T]
        for t, g_out in zip(separate_out, found[T:]):
            grads[t] = grads[t] + _direct_term(*separate_out[t], g_out)

    g = torch.stack(grads).detach()  # (T, B, H)
    return g.flatten(2).norm(dim=2) if per_example else g.flatten(1).norm(dim=1)


def _direct_term(out: Tensor, h: Tensor, g_out: Tensor) -> Tensor:
    """(∂out_t/∂h_t)ᵀ ∂L/∂out_t — the term of ∂L/∂h_t that the probe misses when out_t is
    computed from h_t rather than being h_t. One step's graph, so no recurrent path is included."""
    (g,) = torch.autograd.grad(out, h, grad_outputs=g_out, retain_graph=True, allow_unused=True)
    return torch.zeros_like(h) if g is None else g


def _check_loss(loss) -> None:
    if not isinstance(loss, Tensor):
        raise ValueError(f"hidden_gradient_norms: loss_fn must return a tensor, got {type(loss).__name__}")
    if loss.numel() != 1 or loss.dim() > 1:
        raise ValueError(
            f"hidden_gradient_norms: loss_fn must return a scalar, got shape {tuple(loss.shape)} "
            f"(reduce it, e.g. with .mean() or .sum())"
        )
    if not loss.requires_grad:
        raise ValueError("hidden_gradient_norms: the loss does not depend on the layer's outputs or final state")


def gradient_norm_table(curves: dict[str, Tensor], every: int = 10) -> str:
    """A plain-text table of gradient-norm curves: one column per curve, rows t = T, T−every, …, 1.

    Steps are 1-based (row t is curve[t − 1]); the last step comes first because that is where the
    loss is and the eye reads the decay downward. Every curve must be 1-D and of the same length.
    """
    if not curves:
        raise ValueError("gradient_norm_table: no curves given")
    if every < 1:
        raise ValueError(f"gradient_norm_table: every must be >= 1, got {every}")
    lengths = {name: c.shape[0] if isinstance(c, Tensor) and c.dim() == 1 else None for name, c in curves.items()}
    bad = [name for name, n in lengths.items() if n is None]
    if bad:
        raise ValueError(f"gradient_norm_table: curves must be 1-D tensors; not so for {bad}")
    if len(set(lengths.values())) > 1:
        raise ValueError(f"gradient_norm_table: curves differ in length: {lengths}")
    T = next(iter(lengths.values()))
    steps = list(range(T, 0, -every))
    if steps[-1] != 1:
        steps.append(1)
    names = list(curves)
    width = max(9, *(len(n) for n in names))  # 9 = len("1.234e-05")
    header = f"{'t':>5}  " + "  ".join(f"{n:>{width}}" for n in names)
    rows = [header, "-" * len(header)]
    for t in steps:
        cells = "  ".join(f"{float(curves[n][t - 1]):>{width}.3e}" for n in names)
        rows.append(f"{t:>5}  {cells}")
    return "\n".join(rows)
