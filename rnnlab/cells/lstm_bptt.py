"""Hand-derived BPTT for `LSTMCell`: the whole sequence in one autograd.Function (Haste style).

Forward, per step, with the names of lstm.py's docstring (a = [a_i, a_f, a_g, a_o], the 4H gate
pre-activations; p_· = 0 without peephole):

    a_t  = X_t + R(h_{t-1})      X_t = W x_t + b, or LN_ih(W x_t) + b = γ_ih ⊙ x̂ + b      b = b_ih + b_hh
                                 R(h) = U h, or LN_hh(U h) = γ_hh ⊙ û
    i, f = σ(a_i + p_i ⊙ c_{t-1}),  σ(a_f + p_f ⊙ c_{t-1})
    g    = φ(a_g)
    c̃_t  = f ⊙ c_{t-1} + i ⊙ g
    o    = σ(a_o + p_o ⊙ c̃_t)
    s    = ψ(n),   n = c̃_t, or LN_c(c̃_t) = γ_c ⊙ n̂ + β_c
    h̃_t  = k, or W_hr k with proj_size,   k = o ⊙ s
    h_t, c_t = (h̃_t, c̃_t) where m_t = 1, else (h_{t-1}, c_{t-1});   y_t = m_t h̃_t

X_t is not recurrent: W x is one GEMM over all T·B rows before the loop, and its weight gradient one
GEMM after it. With layer_norm the loop normalises each row of W x (x̂ = normalize(W x_t), keeping
only its μ and rstd) in the pass that forms a_t, and the backward turns ∂L/∂a_t into ∂L/∂(W x_t) =
normalize_backward(∂L/∂a_t ⊙ γ_ih) per row, summing ∂L/∂γ_ih and ∂L/∂b on the way: no separate
passes over whole-sequence buffers for LN_ih. The loop keeps only what the backward needs (gate
activations, states, s, LayerNorm statistics), in whole-sequence buffers saved with
ctx.save_for_backward; the backward walks the steps in reverse to get ∂L/∂a_t for every step,
then forms each weight gradient as one GEMM or one reduction over all steps (_bptt.py's helpers).

Plain torch.nn.LSTM configurations go to torch's own kernel where that is faster (`use_torch_kernel`).
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from rnnlab.cells import _buffers as buffers
from rnnlab.cells._compiled import activation_code, kernels, mkl_generic
from rnnlab.cells._bptt import (
    LayerNormStats, diagonal_gradient, input_part, input_part_backward, joint_weight_gradient, masked_outputs,
    matrix_gradient, needs_recompute, normalize_backward, per_step, recomputed_backward, reference_input_part,
    reference_select, run_scan, saved_stats, step_masks,
)
from rnnlab.cells.activations import ACTIVATIONS


class LSTMScan(torch.autograd.Function):
    """(x, W_ih, b, h0, c0, mask, U, p_i, p_f, p_o, γ_ih, γ_hh, γ_c, β_c, W_hr, options) -> (y, h_T, c_T).

    x: (T, B, D), W_ih (4H, D), b: (4H) or None. Options that are off pass None for their
    parameters (γ_ih, γ_hh, γ_c, β_c: layer_norm). options = (φ, ψ, ε_ih, ε_hh, ε_c).
    """

    @staticmethod
    def forward(ctx, x, W_ih, b, h0, c0, mask, U, p_i, p_f, p_o, g_ih, g_hh, g_c, b_c, W_hr, options):
        phi, psi, eps_ih, eps_hh, eps_c = options
        T, B = x.shape[:2]
        H, R = c0.shape[1], h0.shape[1]
        proj = W_hr is not None
        new = lambda *shape: buffers.empty(shape, x)
        ops = kernels(x, H if g_c is not None else 4 * H if g_hh is not None or g_ih is not None else None)
        if g_ih is not None:  # LN_ih: the loop normalises W x (all steps in one GEMM, no bias) row by row
            WX = torch.mm(x.reshape(T * B, -1), W_ih.t()).view(T, B, 4 * H)
            A = new(T, B, 4, H)  # gets a_t, then i, f, g, o
        else:  # X_t (all steps at once); step t turns it into a_t, then i, f, g, o. The compiled loop
            WX = None  # adds b itself (one pass over A fewer)
            A = input_part(x, W_ih, b if ops is None else None).view(T, B, 4, H)
        Hs, Cs = new(T + 1, B, R), new(T + 1, B, H)  # h_0..h_T, c_0..c_T: the carried states
        Hs[0], Cs[0] = h0, c0
        S = new(T, B, H)  # s = ψ(n)
        K = new(T, B, H) if proj else None  # k = o ⊙ s, what W_hr sees
        if ops is not None:  # the loop of lstm_forward_loop, compiled (rnn_kernels.cpp)
            # μ, rstd of W x; μ = x_t · (mean of W_ih's rows), D terms a row (the loop only gets the rstd)
            stats_ih = (torch.mv(x.reshape(T * B, -1), W_ih.mean(0)).view(T, B, 1), new(T, B, 1)) if g_ih is not None else (None, None)
            stats_hh = (new(T, B, 4 * H), new(T, B, 1)) if g_hh is not None else (None, None)  # û, rstd
            stats_c = (new(T, B, H), new(T, B, 1)) if g_c is not None else (None, None)  # n̂, rstd
            ops.lstm_forward(
                A.view(T, B, 4 * H), Hs, Cs, S, K, mask, U, p_i, p_f, p_o, g_ih, b, g_hh, g_c, b_c, W_hr, WX,
                *stats_ih, *stats_hh, *stats_c, activation_code(phi), activation_code(psi), eps_ih, eps_hh, eps_c,
            )
        else:
            stats_ih, stats_hh, stats_c = lstm_forward_loop(
                A, Hs, Cs, S, K, mask, U, p_i, p_f, p_o, g_ih, b, g_hh, g_c, b_c, W_hr, WX, options
            )
        ctx.save_for_backward(
            x, W_ih, Hs, Cs, A, S, K, mask, U, p_i, p_f, p_o, g_ih, g_hh, g_c, W_hr, WX, *stats_ih, *stats_hh,
            *stats_c, b, h0, c0, b_c,  # (the last four for `reference`: double backward)
        )
        ctx.options = options
        Y = masked_outputs(Hs[1:], mask)  # y_t = m_t h_t (= m_t h̃_t)
        Y = Y.clone() if mask is None else Y  # a copy: the outputs are the caller's to modify
        return Y, Hs[T].clone(), Cs[T].clone()

    @staticmethod
    def reference(x, W_ih, b, h0, c0, mask, U, p_i, p_f, p_o, g_ih, g_hh, g_c, b_c, W_hr, options):
        """The forward in plain autograd ops, step by step (what double backward differentiates)."""
        phi, psi, eps_ih, eps_hh, eps_c = (ACTIVATIONS[options[0]], ACTIVATIONS[options[1]], *options[2:])
        WX = F.linear(x, W_ih)
        WX = WX if g_ih is None else F.layer_norm(WX, (WX.shape[-1],), g_ih, None, eps_ih)  # γ_ih ⊙ x̂
        X, h, c, ys = reference_input_part(WX, None, b), h0, c0, []
        for t in range(X.shape[0]):
            uh = F.linear(h, U)
            uh = uh if g_hh is None else F.layer_norm(uh, (uh.shape[-1],), g_hh, None, eps_hh)  # γ_hh ⊙ û
            a_i, a_f, a_g, a_o = (X[t] + uh).chunk(4, 1)  # a_t = X_t + R(h_{t-1})
            if p_i is not None:
                a_i, a_f = a_i + p_i * c, a_f + p_f * c  # i and f peek at c_{t-1}
            c_new = torch.sigmoid(a_f) * c + torch.sigmoid(a_i) * phi(a_g)  # c̃ = f ⊙ c_{t-1} + i ⊙ g
            if p_o is not None:
                a_o = a_o + p_o * c_new  # o peeks at c̃_t
            n = c_new if g_c is None else F.layer_norm(c_new, (c_new.shape[-1],), g_c, b_c, eps_c)
            h_new = torch.sigmoid(a_o) * psi(n)  # k = o ⊙ ψ(n)
            h_new = h_new if W_hr is None else F.linear(h_new, W_hr)  # h̃ = W_hr k
            h, c = reference_select(mask, t, h_new, h), reference_select(mask, t, c_new, c)
            ys.append(h)
        return masked_outputs(torch.stack(ys), mask), h, c

    @staticmethod
    def backward(ctx, dY, dh_T, dc_T):
        (x, W_ih, Hs, Cs, A, S, K, mask, U, p_i, p_f, p_o, g_ih, g_hh, g_c, W_hr, WX, Xmean, Xrstd,
         Uhat, Urstd, Nhat, Nrstd, *rest) = ctx.saved_tensors
        if needs_recompute(dY, dh_T, dc_T):  # a second derivative or batched gradients: see _bptt.py
            b, h0, c0, b_c = rest
            inputs = (x, W_ih, b, h0, c0, mask, U, p_i, p_f, p_o, g_ih, g_hh, g_c, b_c, W_hr, ctx.options)
            return recomputed_backward(ctx, LSTMScan.reference, inputs, (dY, dh_T, dc_T))
        T, B, _, H = A.shape
        R = Hs.shape[2]
        peephole, ln_ih, ln_hh, ln_c, proj = (v is not None for v in (p_i, g_ih, g_hh, g_c, W_hr))
        has_bias = rest[0] is not None
        new = lambda *shape: buffers.empty(shape, A)
        ops = kernels(A, H if ln_c else 4 * H if ln_hh or ln_ih else None)
        # ∂L/∂a_t. The compiled loop with LN_hh and LN_ih needs no whole-sequence buffer for it (each
        # row's goes into ∂L/∂(U h) and ∂L/∂(W x) while in L1)
        dA = new(T, B, 4, H) if ops is None or not (ln_ih and ln_hh) else None
        dAf = dA.view(T, B, 4 * H) if dA is not None else None
        dUh = new(T, B, 4 * H) if ln_hh or dA is None else dAf  # ∂L/∂(U h_{t-1})
        dX = new(T, B, 4 * H) if ln_ih else dAf  # ∂L/∂(W x_t): what the GEMMs after the loop see
        dHt = new(T, B, R) if proj else None  # ∂L/∂h̃_t, kept for ∂L/∂W_hr
        dN = new(T, B, H) if ln_c and ops is None else None  # ∂L/∂n, for ∂L/∂γ_c, ∂L/∂β_c (compiled: summed per row)
        # ∂L/∂h_t, ∂L/∂c_t: what the steps after t send back
        dh, dc = (v.clone(memory_format=torch.contiguous_format) for v in (dh_T, dc_T))
        stats = (WX, Xmean, Xrstd, Uhat, Urstd, Nhat, Nrstd)
        dp_i = dp_f = dp_o = dg_ih = dg_hh = dg_c = db_c = dW_hr = None
        # ∂L/∂b: summed in the loop (compiled), else from ∂L/∂(W x) below (Python, no LN_ih) or in input_norm_backward
        db = new(4 * H) if has_bias and ctx.needs_input_grad[2] and ops is not None else None
        if ops is not None:  # the loop of lstm_backward_loop, compiled (rnn_kernels.cpp)
            phi, psi = (activation_code(name) for name in ctx.options[:2])
            # the per-unit weights' gradients (the sums below) are summed inside the loop, while each
            # step's rows are in cache: one pass over dA less per weight
            dP = new(3, H) if peephole else None
            dg_ih = new(4 * H) if ln_ih else None
            dg_hh = new(4 * H) if ln_hh else None
            dg_c, db_c = (new(H), new(H)) if ln_c else (None, None)
            ops.lstm_backward(
                dAf, dUh, dX, dHt, dN, dh, dc, dY, A.view(T, B, 4 * H), Cs, S, mask, U, p_i, p_f, p_o,
                g_ih, g_hh, g_c, W_hr, *stats, phi, psi, dP, dg_ih, db, dg_hh, dg_c, db_c,
            )
            if peephole:
                dp_i, dp_f, dp_o = dP.unbind(0)
        else:
            lstm_backward_loop(dA, dUh, dHt, dN, dh, dc, dY, A, Cs, S, mask, U, p_i, p_f, p_o, g_hh, g_c, W_hr, *stats[3:], ctx.options)
            if peephole:  # the peepholes are diagonal: ∂L/∂p = Σ_t ∂L/∂a ⊙ the c it peeks at
                dp_i = diagonal_gradient(dA[:, :, 0], Cs[:-1])  # ∂L/∂p_i = Σ_t ∂L/∂a_i ⊙ c_{t-1}
                dp_f = diagonal_gradient(dA[:, :, 1], Cs[:-1])  # ∂L/∂p_f = Σ_t ∂L/∂a_f ⊙ c_{t-1}
                dp_o = diagonal_gradient(dA[:, :, 3], Cs[1:])  # ∂L/∂p_o = Σ_t ∂L/∂a_o ⊙ c̃_t (c_t wherever ∂L/∂a_o ≠ 0)
            if ln_ih:
                dg_ih, db_all = input_norm_backward(dAf, dX, WX, Xmean, Xrstd, g_ih)
                db = db_all if has_bias and ctx.needs_input_grad[2] else None
            if ln_hh:
                dg_hh = diagonal_gradient(dAf, Uhat)  # ∂L/∂γ_hh = Σ_t ∂L/∂a_t ⊙ û_t
            if ln_c:
                dg_c = diagonal_gradient(dN, Nhat)  # ∂L/∂γ_c = Σ_t ∂L/∂n ⊙ n̂
                db_c = dN.sum((0, 1))  # ∂L/∂β_c = Σ_t ∂L/∂n
        # the other parameter gradients: sums over steps and batch, each one GEMM or one reduction
        needs = ctx.needs_input_grad
        joint = not ln_ih and not ln_hh and needs[1] and needs[6]  # W_ih and U both see ∂L/∂a_t
        summed = ops is not None or ln_ih  # ∂L/∂b summed above
        dx, dW_ih, db_x = input_part_backward(dX, x, W_ih, (needs[0], needs[1] and not joint, needs[2] and not summed))
        db = db if summed else db_x
        if joint:  # [∂L/∂W_ih, ∂L/∂U] = Σ_t ∂L/∂a_tᵀ [x_t, h_{t-1}] in one GEMM
            dW_ih, dU = joint_weight_gradient(dX, x, Hs[0], Hs[1:-1])
        else:
            dU = matrix_gradient(dUh, Hs[:-1])  # ∂L/∂U = Σ_t ∂L/∂(U h_{t-1}) h_{t-1}ᵀ
        if proj:
            dW_hr = matrix_gradient(dHt, K)  # ∂L/∂W_hr = Σ_t ∂L/∂h̃_t k_tᵀ
        return dx, dW_ih, db, dh, dc, None, dU, dp_i, dp_f, dp_o, dg_ih, dg_hh, dg_c, db_c, dW_hr, None


def input_norm_backward(dA: Tensor, dX: Tensor, WX: Tensor, mean: Tensor, rstd: Tensor, g_ih: Tensor):
    """For a_t = γ_ih ⊙ x̂ + b + …, x̂ = normalize(W x_t), all steps at once (the Python path's; the
    compiled loop does it per row): dX gets ∂L/∂(W x) = normalize_backward(∂L/∂a ⊙ γ_ih); returns
    (∂L/∂γ_ih, ∂L/∂b) = (Σ_t ∂L/∂a ⊙ x̂, Σ_t ∂L/∂a). dA, dX, WX (T, B, 4H); mean, rstd (T, B, 1)."""
    xhat = (WX - mean).mul_(rstd)  # x̂, recomputed from W x and its statistics
    dg_ih = diagonal_gradient(dA, xhat)  # ∂L/∂γ_ih = Σ_t ∂L/∂a_t ⊙ x̂_t
    db = dA.sum((0, 1))  # ∂L/∂b = Σ_t ∂L/∂a_t
    normalize_backward(torch.mul(dA, g_ih, out=dX), xhat, rstd, torch.empty_like(dX))  # ∂L/∂(W x)
    return dg_ih, db


def lstm_forward_loop(A, Hs, Cs, S, K, mask, U, p_i, p_f, p_o, g_ih, b, g_hh, g_c, b_c, W_hr, WX, options):
    """LSTMScan's forward loop in Python (the reference for rnn_kernels.cpp's): A (T, B, 4, H) holds X
    on entry (with LN_ih (g_ih), WX holds W x and A is only written) and i, f, g, o on return; Hs, Cs
    hold h_0, c_0 in row 0 and get h_t, c_t; S gets s, K (proj) k. Returns the LayerNorm statistics
    ((μ, rstd) of W x, (û, rstd), (n̂, rstd))."""
    phi, psi, eps_ih, eps_hh, eps_c = options
    act_g, act_s = ACTIVATIONS[phi].into, ACTIVATIONS[psi].into
    T, B, _, H = A.shape
    peephole, proj = p_i is not None, W_hr is not None
    new = lambda *shape: A.new_empty(shape)
    stats_ih = (None, None)
    if g_ih is not None:  # X = γ_ih ⊙ x̂ + b, x̂ = normalize(W x), all steps at once; only μ, rstd are kept
        xhat, mean, rstd = torch.native_layer_norm(WX, [4 * H], None, None, eps_ih)
        X = torch.mul(xhat, g_ih, out=A.view(T, B, 4 * H))
        if b is not None:
            X.add_(b)
        stats_ih = (mean, rstd)
    # û = normalize(U h_{t-1}) and n̂ = normalize(c̃_t) with their rstd, every step, saved for the backward
    ln_hh = LayerNormStats(A, B, 4 * H, eps_hh) if g_hh is not None else None
    ln_c = LayerNormStats(A, B, H, eps_c) if g_c is not None else None
    Uh = new(B, 4 * H)  # scratch: U h_{t-1}
    p_if = torch.stack([p_i, p_f]) if peephole else None  # (2, H): i and f peek in one op
    Ut = U.t()
    # per-step views, made once (indexing inside the loop costs more than the small kernels)
    hs, cs, ss = per_step(Hs), per_step(Cs), per_step(S)
    a_s, if_s = per_step(A.view(T, B, 4 * H)), per_step(A[:, :, :2])
    i_s, f_s, g_s, o_s = (per_step(A[:, :, k]) for k in range(4))
    valid_s = step_masks(mask, boolean=True)  # (B, 1) per step
    for t in range(T):
        h, c, c_new, s = hs[t], cs[t], cs[t + 1], ss[t]
        a, i, f, g, o = a_s[t], i_s[t], f_s[t], g_s[t], o_s[t]
        if ln_hh is not None:  # a = X + γ_hh ⊙ û,  û = normalize(U h_{t-1})
            a.addcmul_(ln_hh(torch.mm(h, Ut, out=Uh)), g_hh)
        else:  # a = X + U h_{t-1}
            a.addmm_(h, Ut)
        if peephole:  # i and f peek at c_{t-1}
            if_s[t].addcmul_(c.unsqueeze(1), p_if)
        torch.sigmoid(if_s[t], out=if_s[t])  # i, f = σ(a_i + p_i ⊙ c_{t-1}), σ(a_f + p_f ⊙ c_{t-1})
        act_g(g, g)  # g = φ(a_g)
        torch.mul(f, c, out=c_new).addcmul_(i, g)  # c̃ = f ⊙ c_{t-1} + i ⊙ g
        if peephole:  # o peeks at c̃_t
            o.addcmul_(c_new, p_o)
        torch.sigmoid(o, out=o)  # o = σ(a_o + p_o ⊙ c̃_t)
        if ln_c is not None:  # s = ψ(γ_c ⊙ n̂ + β_c),  n̂ = normalize(c̃)
            act_s(torch.addcmul(b_c, ln_c(c_new), g_c, out=s), s)
        else:  # s = ψ(c̃)
            act_s(c_new, s)
        if proj:  # h̃ = W_hr (o ⊙ s)
            torch.mm(torch.mul(o, s, out=K[t]), W_hr.t(), out=hs[t + 1])
        else:  # h̃ = o ⊙ s
            torch.mul(o, s, out=hs[t + 1])
        if mask is not None:  # a padded step keeps the old state, bit for bit
            torch.where(valid_s[t], hs[t + 1], h, out=hs[t + 1])  # h_t = m_t ? h̃_t : h_{t-1}
            torch.where(valid_s[t], c_new, c, out=c_new)  # c_t = m_t ? c̃_t : c_{t-1}
    return stats_ih, saved_stats(ln_hh), saved_stats(ln_c)


def lstm_backward_loop(dA, dUh, dHt, dN, dh, dc, dY, A, Cs, S, mask, U, p_i, p_f, p_o, g_hh, g_c, W_hr,
                       Uhat, Urstd, Nhat, Nrstd, options):
    """LSTMScan's backward loop in Python (the reference for rnn_kernels.cpp's): dA gets ∂L/∂a_t, dUh
    ∂L/∂(U h_{t-1}) (dUh is dA without LN_hh), dHt ∂L/∂h̃_t (proj), dN ∂L/∂n (LN_c); dh, dc hold
    ∂L/∂h_T, ∂L/∂c_T on entry and ∂L/∂h_0, ∂L/∂c_0 on return."""
    dsigmoid = ACTIVATIONS["sigmoid"].backward
    dphi, dpsi = ACTIVATIONS[options[0]].backward, ACTIVATIONS[options[1]].backward
    T, B, _, H = A.shape
    R = dh.shape[1]
    peephole, ln_hh, ln_c, proj = p_i is not None, g_hh is not None, g_c is not None, W_hr is not None
    new = lambda *shape: A.new_empty(shape)
    dct = new(B, H) if mask is not None else dc  # ∂L/∂c̃_t (c̃_t is c_t without a mask)
    dht, dk, tmp = new(B, R), new(B, H) if proj else None, new(B, H)
    scratch_hh, scratch_c = new(B, 4 * H) if ln_hh else None, new(B, H) if ln_c else None
    cs, ss, dY_s = per_step(Cs), per_step(S), per_step(dY)
    da_s, dif_s = per_step(dA.view(T, B, 4 * H)), per_step(dA[:, :, :2])
    i_s, f_s, g_s, o_s, if_s = (*(per_step(A[:, :, k]) for k in range(4)), per_step(A[:, :, :2]))
    dai_s, daf_s, dag_s, dao_s = (per_step(dA[:, :, k]) for k in range(4))
    dN_s, dUh_s = per_step(dN) if ln_c else None, per_step(dUh)
    Uh_s, Ur_s, Nh_s, Nr_s = (per_step(v) if v is not None else None for v in (Uhat, Urstd, Nhat, Nrstd))
    m_s, keep_s = step_masks(mask) or (None, None)  # (B, 1) per step: m_t, 1 - m_t
    for t in reversed(range(T)):
        i, f, g, o, s, c_prev = i_s[t], f_s[t], g_s[t], o_s[t], ss[t], cs[t]
        dai, daf, dag, dao = dai_s[t], daf_s[t], dag_s[t], dao_s[t]
        dht = dHt[t] if proj else dht
        torch.add(dY_s[t], dh, out=dht)  # ∂L/∂h̃_t = ∂L/∂y_t + ∂L/∂h_t
        if mask is not None:  # a padded step hands ∂L/∂h_t, ∂L/∂c_t straight to h_{t-1}, c_{t-1}
            dht.mul_(m_s[t])  # ∂L/∂h̃_t = m_t (∂L/∂y_t + ∂L/∂h_t)
            dh.mul_(keep_s[t])  # ∂L/∂h_{t-1} = (1 - m_t) ∂L/∂h_t + (through a_t, below)
            torch.mul(dc, m_s[t], out=dct)  # ∂L/∂c̃_t = m_t ∂L/∂c_t + (through h̃_t, below)
            dc.mul_(keep_s[t])  # ∂L/∂c_{t-1} = (1 - m_t) ∂L/∂c_t + (through c̃_t, below)
        if proj:
            torch.mm(dht, W_hr, out=dk)  # ∂L/∂k = W_hrᵀ ∂L/∂h̃
        else:
            dk = dht  # ∂L/∂k = ∂L/∂h̃
        dsigmoid(torch.mul(dk, s, out=tmp), o, dao)  # ∂L/∂a_o = (∂L/∂k ⊙ s) ⊙ σ'
        if ln_c:  # n = γ_c ⊙ n̂ + β_c
            dn = dpsi(torch.mul(dk, o, out=tmp), s, dN_s[t])  # ∂L/∂n = (∂L/∂k ⊙ o) ⊙ ψ'
            dnhat = torch.mul(dn, g_c, out=tmp)  # ∂L/∂n̂ = ∂L/∂n ⊙ γ_c
            dct.add_(normalize_backward(dnhat, Nh_s[t], Nr_s[t], scratch_c))  # ∂L/∂c̃ += (∂n̂/∂c̃)ᵀ ∂L/∂n̂
        else:  # n = c̃
            dct.add_(dpsi(torch.mul(dk, o, out=tmp), s, tmp))  # ∂L/∂c̃ += ∂L/∂n = (∂L/∂k ⊙ o) ⊙ ψ'
        if peephole:
            dct.addcmul_(dao, p_o)  # ∂L/∂c̃ += ∂L/∂a_o ⊙ p_o
        torch.mul(dct, g, out=dai)  # ∂L/∂i = ∂L/∂c̃ ⊙ g
        torch.mul(dct, c_prev, out=daf)  # ∂L/∂f = ∂L/∂c̃ ⊙ c_{t-1}
        dsigmoid(dif_s[t], if_s[t], dif_s[t])  # ∂L/∂a_i, ∂L/∂a_f = (∂L/∂i, ∂L/∂f) ⊙ σ'
        dphi(torch.mul(dct, i, out=dag), g, dag)  # ∂L/∂a_g = (∂L/∂c̃ ⊙ i) ⊙ φ'
        if mask is None:
            dc.mul_(f)  # ∂L/∂c_{t-1} = ∂L/∂c̃_t ⊙ f  (dct is dc)
        else:
            dc.addcmul_(dct, f)  # ∂L/∂c_{t-1} += ∂L/∂c̃_t ⊙ f
        if peephole:
            dc.addcmul_(dai, p_i).addcmul_(daf, p_f)  # ∂L/∂c_{t-1} += ∂L/∂a_i ⊙ p_i + ∂L/∂a_f ⊙ p_f
        if ln_hh:  # a = X + γ_hh ⊙ û: ∂L/∂(U h_{t-1}) = (∂û/∂(U h))ᵀ (∂L/∂a ⊙ γ_hh)
            normalize_backward(torch.mul(da_s[t], g_hh, out=dUh_s[t]), Uh_s[t], Ur_s[t], scratch_hh)  # (as above)
        if mask is None:
            torch.mm(dUh_s[t], U, out=dh)  # ∂L/∂h_{t-1} = Uᵀ ∂L/∂(U h_{t-1})
        else:
            dh.addmm_(dUh_s[t], U)  # ∂L/∂h_{t-1} += Uᵀ ∂L/∂(U h_{t-1})


def lstm_scan(cell, x: Tensor, state: tuple[Tensor, Tensor], mask: Tensor | None):
    """The whole sequence with the hand-derived BPTT (or torch's kernel); `Recurrent._scan`'s contract."""
    if use_torch_kernel(cell, x, mask):
        return torch_lstm(cell, x, state)
    b = cell.bias_ih + cell.bias_hh if cell.bias_ih is not None else None
    peep = (cell.weight_ci, cell.weight_cf, cell.weight_co) if cell.peephole else (None,) * 3
    norms = (cell.ln_ih, cell.ln_hh, cell.ln_c) if cell.layer_norm else None
    ln = (*(norm.weight for norm in norms), cell.ln_c.bias) if norms else (None,) * 4  # γ_ih, γ_hh, γ_c, β_c
    eps = tuple(norm.eps for norm in norms) if norms else (0.0,) * 3
    options = (cell.candidate_activation, cell.state_activation, *eps)
    h0, c0 = state
    y, h, c = run_scan(LSTMScan, x, cell.weight_ih, b, h0, c0, mask, cell.weight_hh, *peep, *ln, cell.weight_hr, options)
    return y, (h, c)


def use_torch_kernel(cell, x: Tensor, mask: Tensor | None) -> bool:
    """torch's own kernel where it is faster: plain cell, no proj, no mask, and on CPU outside OURS_FROM.

    Training step (forward + backward) of the plain cell, float32, 1 thread, CPU time on a 2-core
    machine shared with other jobs (bench/rnn_speed.py --clock cpu, medians of 7; docs/speed.md),
    torch.nn.LSTM's time (oneDNN) / rnnlab's compiled kernel's, same run, AMD EPYC (Zen 4), 2026-12-01:

        B \\ H     128          192     256           384     512     1024
        1          0.81×                0.79×                         0.95×
        16         0.83×                0.80×
        32         0.85×        0.91×   1.05×         0.96×   0.94×
        64         1.23×                1.06×
        128                             1.10×                         0.83×
        256                             1.00×

    oneDNN's speed moves with its blocking (80-82 % of the sgemm rate at H = 256, 92-100 % at
    H = 128 with B = 32 and at H = 192-512), ours less: ours wins where H ≤ 256 and B·H ≥ 8192 (every
    point above agrees, the tie at B = 256 either way), oneDNN everywhere else measured. (Measured
    before the biases moved into the loops, which made ours 7-9 % faster on the Intel machine below;
    not re-measured on AMD.)

    Intel Xeon with AMX (2 cores, AVX-512 gate loops, the biases added inside the loops, the step
    products from MKL's packed form of the recurrent matrix; T = 100 to H = 256, then 50; two runs),
    same ratio:

        B \\ H     128            256             512             1024
        1          0.98-1.07×     0.95-1.05×      1.14-1.17×      1.24×
        16         1.04-1.05×     1.05-1.09×      1.05-1.07×      1.11-1.15×
        32         0.98-1.05×     1.33-1.38×      1.17-1.19×      1.13-1.14×
        64         1.29-1.39×     1.29-1.33×      1.19-1.20×      1.14-1.18×
        128        1.32-1.34×     1.27-1.28×      1.22-1.23×      1.08-1.11×

    Ours everywhere measured there (`ours_faster`: where MKL is not on its generic path). Without the
    compiled kernels (no compiler) oneDNN always: the Python loops are far slower.
    Elsewhere torch falls back to its generic kernel, which loses to the hand-derived path
    (proj_size, a mask — torch's packed path —, float64: measured before the compiled loops, when
    even the Python loops won: proj H/2 at (100, 32, 64, 256) 106 vs 94 ms, a mask 422 vs 118 ms).
    CUDA (cuDNN) was not measured here.

    One step without autograd (generation, `rnnlab generate`, stepping a model) always runs ours:
    there oneDNN pays a per-call setup that a fresh process pays in full (its scratch memory goes
    back to the system after every call until some large free raises glibc's mmap threshold).
    Fresh process, T = 1, inference mode, µs per step, oneDNN / compiled (2026-12-01): H = 256,
    B = 1: 1076 / 140; B = 16: 1380 / 366; B = 64: 1968 / 966; H = 1024, B = 1: 19440 / 2380;
    B = 128: 44756 / 28418. The demo LSTM generates 802 → 5356 chars/s in a fresh process.
    """
    if not cell.is_torch_lstm or cell.proj_size or mask is not None:
        return False
    if x.is_cuda:
        return True
    if x.dtype != torch.float32 or not torch.backends.mkldnn.is_available():
        return False
    if x.shape[0] == 1 and not torch.is_grad_enabled() and kernels(x) is not None:
        return False  # one step, no backward: ours (above)
    B, H = x.shape[1], cell.hidden_size
    return not (ours_faster(B, H) and kernels(x) is not None)


# (largest H, smallest B·H) where the compiled kernel beat oneDNN for the plain float32 LSTM (above)
OURS_FROM = (256, 8192)


def ours_faster(B: int, H: int) -> bool:
    """Where the compiled kernel measured faster than oneDNN for a training step (tables above): on
    AMD (MKL's generic sgemm under our loops) H ≤ 256 with B·H ≥ 8192; elsewhere every size measured."""
    return not mkl_generic() or (H <= OURS_FROM[0] and B * H >= OURS_FROM[1])


def torch_lstm(cell, x: Tensor, state: tuple[Tensor, Tensor]):
    """torch.nn.LSTM's kernel, for cells that compute exactly torch.nn.LSTM (no mask: see above)."""
    weights = [cell.weight_ih, cell.weight_hh]
    has_bias = cell.bias_ih is not None
    if has_bias:
        weights += [cell.bias_ih, cell.bias_hh]
    if cell.weight_hr is not None:
        weights.append(cell.weight_hr)
    hx = tuple(s.unsqueeze(0) for s in state)  # (layers = 1, B, ·)
    # (layers, dropout, train, bidirectional, batch_first) = (1, 0, grad enabled, no, no)
    y, h, c = torch._VF.lstm(x, hx, weights, has_bias, 1, 0.0, torch.is_grad_enabled(), False, False)
    return y, (h[0], c[0])
