"""Pieces shared by the hand-derived BPTT Functions (elman_bptt, lstm_bptt, gru_bptt).

Every kernel has the same frame: a non-recurrent input part X = W x + b for all T·B rows in one
GEMM, a loop over the steps that keeps what the backward needs (all of it saved with
ctx.save_for_backward, LayerNorm statistics included), padded steps that keep the old state
(m_t = 0), and a backward that walks the steps in reverse and then forms each weight gradient as
one GEMM or one reduction over all steps. The activation functions, their fused backward kernels
and their derivatives come from the one table in activations.py.

Double backward and batched gradients: each Function also has `reference`, its forward written
with plain autograd ops step by step. When the backward itself must be differentiable
(`create_graph=True`: grad mode is on inside backward) or the incoming gradients are batched
(`is_grads_batched=True`, vmap), the backward differentiates `reference` at the saved inputs
(`recomputed_backward`) instead of running the in-place hand-derived kernel, so second derivatives
are exact rather than silently zero; first-order training never takes that path.

On speed: per-step views are made before the loops (indexing inside them costs as much as the
small ops they feed), and nothing here allocates inside a loop. The whole-sequence buffers come
from `_buffers.empty` (kept from one call to the next instead of faulted in again).
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch._C._functorch import is_batchedtensor, is_legacy_batchedtensor
from torch.nn import functional as F

from rnnlab.cells import _buffers as buffers


def input_part(x: Tensor, W: Tensor | None, b: Tensor | None) -> Tensor:
    """X = W x_t + b for all T·B rows in one GEMM, (T, B, G); with W None, x is W x already (built
    outside with autograd, e.g. through LN_ih) and X = x + b. Either way X is a fresh buffer, the
    forward's to overwrite."""
    T, B, D = x.shape
    if W is None:
        X = buffers.empty((T, B, D), x)
        return torch.add(x, b, out=X) if b is not None else X.copy_(x)
    X = buffers.empty((T * B, W.shape[0]), x)
    x2 = x.reshape(T * B, D)
    return (torch.mm(x2, W.t(), out=X) if b is None else torch.addmm(b, x2, W.t(), out=X)).view(T, B, -1)


def input_part_backward(dX: Tensor, x: Tensor | None, W: Tensor | None, needs: tuple[bool, bool, bool]):
    """(∂L/∂x, ∂L/∂W, ∂L/∂b) for X = W x + b (or x + b with W None), one GEMM or sum each over all
    T·B rows; None where `needs` (from ctx.needs_input_grad) says the input wants no gradient."""
    T, B, G = dX.shape
    dX2 = dX.view(T * B, G)
    if W is None:
        dx = dX if needs[0] else None  # ∂L/∂(W x) = ∂L/∂X
        dW = None
    else:
        dx = (dX2 @ W).view(T, B, -1) if needs[0] else None  # ∂L/∂x_t = ∂L/∂X_t W
        dW = dX2.t() @ x.reshape(T * B, -1) if needs[1] else None  # ∂L/∂W = Σ_t ∂L/∂X_tᵀ x_t
    db = dX2.sum(0) if needs[2] else None  # ∂L/∂b = Σ_t ∂L/∂X_t
    return dx, dW, db


def per_step(v: Tensor, *sizes: int):
    """Views of every step of v (T, B, ·): v.unbind(0), or with `sizes` its last dim split first,
    one tuple of views per part."""
    return [part.unbind(0) for part in v.split(list(sizes), -1)] if sizes else v.unbind(0)


def step_masks(mask: Tensor | None, boolean: bool = False):
    """Per-step (B, 1) views of the mask m (T, B): with `boolean` the tuple of m_t != 0 (for
    torch.where in a forward), else the pair of tuples (m_t, 1 - m_t) (for a backward); None without a mask."""
    if mask is None:
        return None
    m = mask.unsqueeze(-1)
    return (m != 0).unbind(0) if boolean else (m.unbind(0), (1 - m).unbind(0))


def masked_outputs(Hs: Tensor, mask: Tensor | None) -> Tensor:
    """y_t = m_t h_t for all steps at once (Hs itself without a mask)."""
    return Hs if mask is None else Hs * mask.unsqueeze(-1)


def incoming_gradient(dY: Tensor, dh_T: Tensor, mask: Tensor | None) -> Tensor:
    """m_t ∂L/∂y_t, plus ∂L/∂h_T at the last step: ∂L/∂h_t before the recurrence adds to it, (T, B, H),
    a fresh buffer the backward may overwrite."""
    dh = buffers.empty(dY.shape, dY).copy_(dY)
    if mask is not None:
        dh.mul_(mask.unsqueeze(-1))  # y_t = m_t h_t
    dh[-1] += dh_T  # h_T is also returned as the final state
    return dh


def mask_backward_(dh: Tensor, dh_prev: Tensor, m: Tensor, not_m: Tensor) -> Tensor:
    """For h_t = m_t h̃_t + (1 - m_t) h_{t-1}: only a valid step's h̃_t reaches the loss, a padded one
    hands ∂L/∂h_t to h_{t-1}. Turns dh = ∂L/∂h_t into ∂L/∂h̃_t in place and adds to dh_prev."""
    dh_prev.addcmul_(dh, not_m)  # ∂L/∂h_{t-1} += (1 - m_t) ∂L/∂h_t
    return dh.mul_(m)  # ∂L/∂h̃_t = m_t ∂L/∂h_t


def matrix_gradient(dV: Tensor, v: Tensor) -> Tensor:
    """∂L/∂W = Σ_t ∂L/∂(W v_t)ᵀ v_t over all steps and rows in one GEMM: dV (T, B, G), v (T, B, K) → (G, K)."""
    return dV.reshape(-1, dV.shape[-1]).t() @ v.reshape(-1, v.shape[-1])


def weight_gradient(dV: Tensor, Hs: Tensor, h0: Tensor) -> Tensor:
    """∂L/∂U = Σ_t ∂L/∂(U h_{t-1})ᵀ h_{t-1} for states Hs = (h_1, …, h_T): one GEMM over steps 1..T-1
    (h_{t-1} = Hs[t-1], so the states need no copy to line them up) plus step 0's (h_{-1} = h0)."""
    T, B, G = dV.shape
    dW = dV[0].t() @ h0
    if T > 1:
        dW.addmm_(dV[1:].reshape((T - 1) * B, G).t(), Hs[:-1].reshape((T - 1) * B, -1))
    return dW


def joint_weight_gradient(dA: Tensor, x: Tensor, h0: Tensor, later: Tensor) -> tuple[Tensor, Tensor]:
    """(∂L/∂W_ih, ∂L/∂U) where both products feed the same ∂L/∂a_t: Σ_t ∂L/∂a_tᵀ [x_t, h_{t-1}] as one
    (G, D + R) GEMM over all steps; h_{t-1} = h0 at t = 0, then `later` (T - 1, B, R). One GEMM with
    D + R columns ran faster than the two (the D-wide one is a skinny shape): CPU time, 1 thread,
    dA (T·B, 4H), incl. the copy into [x, h]: 6.9 vs 7.6 ms at (T, B, D, H) = (200, 16, 32, 128),
    24.2 vs 26.6 ms at (100, 32, 64, 256) (docs/speed.md)."""
    T, B, G = dA.shape
    D = x.shape[-1]
    xh = x.new_empty(T, B, D + h0.shape[-1])
    xh[..., :D] = x
    xh[0, :, D:] = h0
    xh[1:, :, D:] = later
    dWU = dA.reshape(T * B, G).t() @ xh.view(T * B, -1)
    return dWU[:, :D].contiguous(), dWU[:, D:].contiguous()


class LayerNormStats:
    """v̂ = normalize(v) = (v - μ) ⊙ rstd over the last dim, rstd = 1/√(var + ε), step by step; `saved()`
    stacks the v̂ (T, B, G) and rstd (T, B, 1) of all steps for ctx.save_for_backward, like every
    other saved tensor. (Fresh per-step results stacked once beat writing each into a buffer: the
    out= form of layer_norm and a copy per step each cost more than the one stack.)"""

    def __init__(self, like: Tensor, B: int, G: int, eps: float):
        self.shape, self.eps = [G], eps
        self.empty = like.new_empty(0, B, G), like.new_empty(0, B, 1)  # what a sequence of no steps saves
        self.vhat: list[Tensor] = []
        self.rstd: list[Tensor] = []

    def __call__(self, v: Tensor) -> Tensor:
        """v̂ for the next step (B, G), kept with its rstd."""
        vhat, _, rstd = torch.native_layer_norm(v, self.shape, None, None, self.eps)
        self.vhat.append(vhat)
        self.rstd.append(rstd)
        return vhat

    def saved(self) -> tuple[Tensor, Tensor]:
        return (torch.stack(self.vhat), torch.stack(self.rstd)) if self.vhat else self.empty


def saved_stats(stats: LayerNormStats | None) -> tuple[Tensor | None, Tensor | None]:
    """(v̂, rstd) of all steps for ctx.save_for_backward, or (None, None) without LayerNorm."""
    return stats.saved() if stats is not None else (None, None)


def normalize_backward(dvhat: Tensor, vhat: Tensor, rstd: Tensor, scratch: Tensor) -> Tensor:
    """For v̂ = normalize(v): ∂L/∂v = rstd ⊙ (∂L/∂v̂ - mean(∂L/∂v̂) - v̂ ⊙ mean(∂L/∂v̂ ⊙ v̂)),
    written into dvhat (scratch: a buffer of its shape)."""
    sum_d = dvhat.sum(-1, keepdim=True)  # Σ ∂L/∂v̂
    sum_dv = torch.mul(dvhat, vhat, out=scratch).sum(-1, keepdim=True)  # Σ ∂L/∂v̂ ⊙ v̂
    torch.addcmul(sum_d, vhat, sum_dv, out=scratch)  # Σ ∂L/∂v̂ + v̂ ⊙ Σ (∂L/∂v̂ ⊙ v̂)
    return dvhat.sub_(scratch, alpha=1 / dvhat.shape[-1]).mul_(rstd)  # rstd ⊙ (∂L/∂v̂ - mean(·))


def diagonal_gradient(dOut: Tensor, v: Tensor) -> Tensor:
    """∂L/∂p = Σ_t Σ_b ∂L/∂(p ⊙ v_t) ⊙ v_t for a per-unit weight p (a LayerNorm gain, a peephole),
    over all steps at once: dOut, v (T, B, G) → (G)."""
    return (dOut * v).sum((0, 1))


def needs_recompute(*grads: Tensor | None) -> bool:
    """True when a backward must go through `recomputed_backward`: it is being recorded for a
    second derivative (create_graph=True turns grad mode on inside backward), or its incoming
    gradients are batched (is_grads_batched / vmap), which the in-place kernels cannot take."""
    if torch.is_grad_enabled():
        return True
    return any(g is not None and (is_batchedtensor(g) or is_legacy_batchedtensor(g)) for g in grads)


def recomputed_backward(ctx, reference, inputs: tuple, grads: tuple) -> tuple:
    """∂L/∂inputs as autograd ops: differentiate `reference(*inputs)` (the Function's forward in plain
    ops) at the saved inputs, with create_graph when a second derivative is being recorded. Inputs
    are the forward's arguments in order (non-tensors too); None where none is needed."""
    wanted = [k for k, need in enumerate(ctx.needs_input_grad) if need and isinstance(inputs[k], Tensor)]
    create_graph = torch.is_grad_enabled()
    with torch.enable_grad():
        outputs = reference(*inputs)
    found = torch.autograd.grad(
        outputs, [inputs[k] for k in wanted], grads, create_graph=create_graph, allow_unused=True
    )
    result = [None] * len(inputs)
    for k, g in zip(wanted, found):
        result[k] = g
    return tuple(result)


class _Inference:
    """The `ctx` of a Function's forward run outside autograd: nothing to save for a backward."""

    def save_for_backward(self, *tensors) -> None:
        pass


def run_scan(function: type[torch.autograd.Function], *args):
    """function.apply(*args), or, with grad mode off (inference, generation one step at a time), its
    forward called directly: no graph is recorded either way, and the direct call spares the
    autograd.Function machinery (~30 µs a call, a tenth of a 256-unit step)."""
    if torch.is_grad_enabled():
        return function.apply(*args)
    return function.forward(_Inference(), *args)


def reference_input_part(x: Tensor, W: Tensor | None, b: Tensor | None) -> Tensor:
    """`input_part` in autograd ops: X = W x + b (x + b with W None)."""
    X = x if W is None else F.linear(x, W)
    return X if b is None else X + b


def reference_select(mask: Tensor | None, t: int, new: Tensor, old: Tensor) -> Tensor:
    """h_t = m_t ? h̃_t : h_{t-1} in autograd ops (the state a padded step keeps)."""
    return new if mask is None else torch.where(mask[t].unsqueeze(-1) != 0, new, old)
