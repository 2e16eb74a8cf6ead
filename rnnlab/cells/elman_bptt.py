"""Hand-derived BPTT for `ElmanCell`: the whole sequence in one autograd.Function (Haste style).

Forward, per step, with the names of elman.py:

    X_t = W_ih x_t + b_ih + b_hh                   (not recurrent: all steps in one GEMM)
    a_t = X_t + W_hh h_{t-1}
    h̃_t = f(a_t)
    h_t = m_t ? h̃_t : h_{t-1};   y_t = m_t h_t    (m: the mask, all ones without one)

Backward, walking the steps in reverse. f' is taken from the output by the fused backward of
activations.py's table (tanh' = 1 - h², σ' = h(1 - h), relu' = [h > 0], identity' = 1), so the
forward keeps only h:

    ∂L/∂h_t     = m_t ∂L/∂y_t + ∂L/∂h_t from step t+1
    ∂L/∂a_t     = m_t ∂L/∂h_t ⊙ f'(a_t)
    ∂L/∂h_{t-1} = (1 - m_t) ∂L/∂h_t + ∂L/∂a_t W_hh

and the weight gradients are one GEMM each over all T·B rows afterwards,
∂L/∂W_hh = Σ_t ∂L/∂a_tᵀ h_{t-1} and ∂L/∂W_ih = Σ_t ∂L/∂a_tᵀ x_t (∂L/∂x = ∂L/∂a W_ih, ∂L/∂b = Σ_t ∂L/∂a_t).

On speed: one GEMM and one element-wise op per step each way, on per-step views made before the
loops (indexing inside them costs as much as the small ops they feed). Spent whole-sequence buffers
are reused rather than fresh ones allocated (on CPU the first touch of fresh memory, page faults,
costs about as much as the arithmetic): h_t is written over X_t, ∂L/∂a_t over ∂L/∂h_t.
"""
from __future__ import annotations

import torch
from torch import Tensor

from rnnlab.cells._compiled import activation_code, kernels
from rnnlab.cells._bptt import (
    incoming_gradient, input_part, input_part_backward, joint_weight_gradient, mask_backward_, masked_outputs,
    needs_recompute, per_step, recomputed_backward, reference_input_part, reference_select, run_scan, step_masks,
    weight_gradient,
)
from rnnlab.cells.activations import ACTIVATIONS


class ElmanScan(torch.autograd.Function):
    """(x, W_ih, b, h0, mask, W_hh, activation) -> (y, h_T), b = b_ih + b_hh (b_hh only shifts a_t) or None."""

    @staticmethod
    def forward(ctx, x, W_ih, b, h0, mask, W_hh, activation):
        # X for all steps in one GEMM; step t overwrites X_t with h_t (on CPU the first touch of a
        # fresh buffer costs about as much as the arithmetic). The compiled loop adds b itself: the
        # GEMM then has no bias to broadcast into its output first (one pass over Hs fewer)
        ops = kernels(x)
        Hs = input_part(x, W_ih, b if ops is None else None)
        if ops is not None:  # the loop below, compiled (rnn_kernels.cpp)
            ops.elman_forward(Hs, h0.contiguous(), mask, W_hh.contiguous(), b, activation_code(activation))
        else:
            elman_forward_loop(Hs, h0, mask, W_hh, activation)
        ctx.save_for_backward(x, W_ih, h0, Hs, mask, W_hh, b)
        ctx.activation = activation
        return masked_outputs(Hs, mask), Hs[-1].clone()  # y_t = m_t h_t, h_T

    @staticmethod
    def reference(x, W_ih, b, h0, mask, W_hh, activation):
        """The forward in plain autograd ops, step by step (what double backward differentiates)."""
        X, f, h, hs = reference_input_part(x, W_ih, b), ACTIVATIONS[activation], h0, []
        for t in range(X.shape[0]):
            h = reference_select(mask, t, f(X[t] + h @ W_hh.t()), h)  # h_t = m_t ? f(X_t + W_hh h_{t-1}) : h_{t-1}
            hs.append(h)
        return masked_outputs(torch.stack(hs), mask), h

    @staticmethod
    def backward(ctx, dY, dh_T):
        x, W_ih, h0, Hs, mask, W_hh, b = ctx.saved_tensors
        if needs_recompute(dY, dh_T):  # a second derivative or batched gradients: see _bptt.py
            return recomputed_backward(ctx, ElmanScan.reference, (x, W_ih, b, h0, mask, W_hh, ctx.activation), (dY, dh_T))
        # one buffer: dA[t] collects ∂L/∂h_t (from y_t, then from step t+1) and is then turned,
        # in place, into ∂L/∂a_t (= ∂L/∂X_t)
        dA = incoming_gradient(dY, dh_T, mask)  # ∂L/∂h_t = m_t ∂L/∂y_t (+ ∂L/∂h_T at t = T)
        dh0 = torch.zeros_like(h0, memory_format=torch.contiguous_format)
        ops = kernels(dA)
        need_x, need_W_ih, need_b, _, _, need_W_hh, _ = ctx.needs_input_grad
        db = dA.new_empty(dA.shape[2]) if ops is not None and need_b else None  # ∂L/∂b, summed in the loop
        if ops is not None:  # the loop below, compiled
            ops.elman_backward(dA, dh0, Hs, mask, W_hh.contiguous(), db, activation_code(ctx.activation))
        else:
            elman_backward_loop(dA, dh0, Hs, mask, W_hh, ctx.activation)
        joint = W_ih is not None and need_W_ih and need_W_hh
        if joint:  # [∂L/∂W_ih, ∂L/∂W_hh] = Σ_t ∂L/∂a_tᵀ [x_t, h_{t-1}] in one GEMM
            dW_ih, dW_hh = joint_weight_gradient(dA, x, h0, Hs[:-1])
        else:
            dW_hh = weight_gradient(dA, Hs, h0) if need_W_hh else None  # ∂L/∂W_hh = Σ_t ∂L/∂a_tᵀ h_{t-1}
        # ∂L/∂x_t = ∂L/∂a_t W_ih, ∂L/∂W_ih = Σ_t ∂L/∂a_tᵀ x_t, ∂L/∂b_ih = ∂L/∂b_hh = Σ_t ∂L/∂a_t
        dx, dW_ih_alone, db_x = input_part_backward(dA, x, W_ih, (need_x, need_W_ih and not joint, need_b and ops is None))
        dW_ih = dW_ih if joint else dW_ih_alone
        db = db if ops is not None else db_x
        return dx, dW_ih, db, dh0, None, dW_hh, None


def elman_backward_loop(dA: Tensor, dh0: Tensor, Hs: Tensor, mask: Tensor | None, W_hh: Tensor, activation: str):
    """The backward's loop over the steps in Python (the reference for rnn_kernels.cpp's): turns
    dA from ∂L/∂h_t into ∂L/∂a_t in place and adds ∂L/∂h_0 to dh0."""
    f_backward = ACTIVATIONS[activation].backward
    dAs, H_new = [*per_step(dA), dh0], per_step(Hs)  # per-step views; dAs[-1] is ∂L/∂h_0
    ms, not_ms = step_masks(mask) or (None, None)  # (B, 1) per step: m_t, 1 - m_t
    for t in reversed(range(dA.shape[0])):
        da, dh_prev = dAs[t], dAs[t - 1]
        if mask is not None:
            mask_backward_(da, dh_prev, ms[t], not_ms[t])  # ∂L/∂h̃_t = m_t ∂L/∂h_t, the rest to h_{t-1}
        f_backward(da, H_new[t], da)  # ∂L/∂a_t = ∂L/∂h̃_t ⊙ f'(a_t)
        dh_prev.addmm_(da, W_hh)  # ∂L/∂h_{t-1} += ∂L/∂a_t W_hh


def elman_forward_loop(Hs: Tensor, h0: Tensor, mask: Tensor | None, W_hh: Tensor, activation: str):
    """The forward's loop over the steps in Python (the reference for rnn_kernels.cpp's): Hs holds
    X_t on entry and h_t on return."""
    T, B, H = Hs.shape
    f = ACTIVATIONS[activation].into
    H_new = per_step(Hs)  # per-step views: X_t, then h_t
    h_new = Hs.new_empty(B, H)  # scratch: h̃_t when masked
    valid = step_masks(mask, boolean=True)  # (B, 1) per step
    Wt = W_hh.t().contiguous()  # (GEMMs with it run ~10% faster than through the transposed view)
    h = h0
    for t in range(T):
        a = torch.addmm(H_new[t], h, Wt, out=H_new[t] if mask is None else h_new)  # a_t = X_t + W_hh h_{t-1}
        f(a, a)  # h̃_t = f(a_t)
        if mask is not None:  # a padded step keeps the old state (where: exact)
            torch.where(valid[t], h_new, h, out=H_new[t])  # h_t = m_t ? h̃_t : h_{t-1}
        h = H_new[t]


def elman_scan(cell, x: Tensor, h0: Tensor, mask: Tensor | None):
    """Whole-sequence Elman RNN with the hand-derived BPTT; the contract of `Recurrent._scan`."""
    bias = cell.bias_ih + cell.bias_hh if cell.bias_ih is not None else None  # b_hh only shifts a_t
    return run_scan(ElmanScan, x, cell.weight_ih, bias, h0, mask, cell.weight_hh, cell.activation)
