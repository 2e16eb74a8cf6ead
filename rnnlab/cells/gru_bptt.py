"""Hand-derived BPTT for `GRUCell`: the whole sequence in one autograd.Function (Haste style).

Forward, per step, with the names of gru.py (a_· are pre-activations, u_· the recurrent terms):

    X_t = W x_t + b_ih, or LN_ih(W x_t) + b_ih              (not recurrent: all steps in one GEMM)
    reset_after=True (GRUResetAfter)                        reset_after=False (GRUResetBefore)
      u = U h_{t-1} + b_hh  (or γ_hh ⊙ û + b_hh)             u_rz = U_rz h_{t-1} + b_hrz  (or LN_hh)
      r, z = σ(a_rz),  a_rz = X_rz + u_rz                    r, z = σ(a_rz),  a_rz = X_rz + u_rz
      n = tanh(a_n),   a_n = X_n + r ⊙ u_n                   u_n = U_n (r ⊙ h_{t-1}) + b_hn  (or LN_hn)
                                                             n = tanh(a_n),   a_n = X_n + u_n
    h̃_t = n + z ⊙ (h_{t-1} - n)                            (= (1 - z) ⊙ n + z ⊙ h_{t-1})
    h_t = m_t ? h̃_t : h_{t-1};   y_t = m_t h_t               (m: the mask, all ones without one)

with û = normalize(U h) = (U h - μ) / √(var + ε) for LayerNorm. Backward, walking the steps in
reverse with ∂L/∂h̃_t = m_t ∂L/∂h_t (after the | : where reset_after=False differs):

    ∂L/∂a_n     = ∂L/∂h̃_t ⊙ (1 - z) ⊙ (1 - n²)
    ∂L/∂a_z     = ∂L/∂h̃_t ⊙ (h_{t-1} - n) ⊙ z(1 - z)
    ∂L/∂a_r     = ∂L/∂a_n ⊙ u_n ⊙ r(1 - r)              | ∂L/∂(r ⊙ h) ⊙ h_{t-1} ⊙ r(1 - r)
    ∂L/∂u_n     = ∂L/∂a_n ⊙ r                            | ∂L/∂a_n;  ∂L/∂(r ⊙ h) = ∂L/∂(U_n rh) U_n
    ∂L/∂h_{t-1} = m_{t-1} ∂L/∂y_{t-1} + (1 - m_t) ∂L/∂h_t + z ⊙ ∂L/∂h̃_t + ∂L/∂(U h) U   | + ∂L/∂(r ⊙ h) ⊙ r

where ∂L/∂(U h) = ∂L/∂u, or normalize_backward(∂L/∂u ⊙ γ) with LayerNorm. The weight gradients
are one GEMM each over all T·B rows afterwards: ∂L/∂U = Σ_t ∂L/∂(U h)ᵀ h_{t-1} (per block of U
without reset_after), ∂L/∂W = Σ_t ∂L/∂X_tᵀ x_t; bias and gain gradients are sums over all steps.

On speed: per step the forward is one GEMM and six element-wise ops, the backward one GEMM (two
without reset_after) and about ten element-wise ops, all on small, cache-resident tensors. Spent
whole-sequence buffers are reused rather than fresh ones allocated (on CPU the first touch of fresh
memory, page faults, costs about as much as the arithmetic): the forward writes the gates over X,
the backward ∂L/∂a_n over ∂L/∂h_t. Per-step views are made before the loops: indexing inside them
costs as much as the small ops they feed.
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from rnnlab.cells import _buffers as buffers
from rnnlab.cells._compiled import kernels
from rnnlab.cells._bptt import (
    LayerNormStats, diagonal_gradient, incoming_gradient, input_part, input_part_backward, mask_backward_,
    masked_outputs, matrix_gradient, needs_recompute, normalize_backward, per_step, recomputed_backward,
    reference_input_part, reference_select, run_scan, saved_stats, step_masks, weight_gradient,
)
from rnnlab.cells.activations import ACTIVATIONS

sigmoid_backward, tanh_backward = ACTIVATIONS["sigmoid"].backward, ACTIVATIONS["tanh"].backward


class RecurrentTerm:
    """out = c + U h, or c + γ ⊙ û, û = normalize(U h), with LayerNorm (c: a tensor or None; out may
    be c), per step; with LayerNorm `stats` keeps û and rstd of every step for the backward."""

    def __init__(self, U: Tensor, gain: Tensor | None, eps: float, B: int):
        self.Ut = U.t().contiguous()  # (GEMMs with it run ~10% faster than through the transposed view)
        self.gain = gain
        self.stats = LayerNormStats(U, B, U.shape[0], eps) if gain is not None else None
        self.v = U.new_empty(B, U.shape[0]) if gain is not None else None  # scratch: U h

    def __call__(self, h: Tensor, c: Tensor | None, out: Tensor) -> Tensor:
        if self.gain is None:  # c + U h
            return torch.mm(h, self.Ut, out=out) if c is None else torch.addmm(c, h, self.Ut, out=out)
        vhat = self.stats(torch.mm(h, self.Ut, out=self.v))  # û = normalize(U h)
        return torch.mul(vhat, self.gain, out=out) if c is None else torch.addcmul(c, vhat, self.gain, out=out)


def recurrent_term(h: Tensor, U: Tensor, gain: Tensor | None, eps: float, c: Tensor | None) -> Tensor:
    """`RecurrentTerm` in autograd ops: U h, or γ ⊙ normalize(U h) with LayerNorm, plus c if given."""
    v = F.linear(h, U)
    v = v if gain is None else F.layer_norm(v, (v.shape[-1],), gain, None, eps)
    return v if c is None else v + c


def update_backward(dh: Tensor, dh_prev: Tensor, h_prev: Tensor, z: Tensor, n: Tensor, dz: Tensor, dn: Tensor,
                    da_n: Tensor) -> Tensor:
    """Through h̃_t = n + z ⊙ (h_{t-1} - n), n = tanh(a_n), given dh = ∂L/∂h̃_t (the same in both
    variants): adds to dh_prev, writes ∂L/∂z into dz and ∂L/∂a_n into da_n (dn: scratch); returns da_n."""
    dh_prev.addcmul_(dh, z)  # ∂L/∂h_{t-1} += z ⊙ ∂L/∂h̃_t
    torch.sub(h_prev, n, out=dz).mul_(dh)  # ∂L/∂z = ∂L/∂h̃_t ⊙ (h_{t-1} - n)
    torch.addcmul(dh, dh, z, value=-1, out=dn)  # ∂L/∂n = ∂L/∂h̃_t ⊙ (1 - z)
    return tanh_backward(dn, n, da_n)  # ∂L/∂a_n = ∂L/∂n ⊙ (1 - n²)


class GRUResetAfter(torch.autograd.Function):
    """(x, W_ih, b_ih, h0, mask, U, b_hh, γ_hh, ε) -> (y, h_T) for reset_after=True; absent options are
    None, and with W_ih None x is LN_ih(W x) already."""

    @staticmethod
    def forward(ctx, x, W_ih, b_ih, h0, mask, U, b_hh, g_hh, eps):
        ops = kernels(x, U.shape[0] if g_hh is not None else None)
        # X; step t turns [X_rz, X_n] into [r, z, u_n]. The compiled loop adds b_ih itself (the GEMM
        # then has no bias to broadcast into its output first)
        G = input_part(x, W_ih, b_ih if ops is None else None)
        T, B, H3 = G.shape
        Hs = buffers.empty((T, B, H3 // 3), G)  # h_t: the state after each step (and the output where there is no mask)
        N = buffers.empty((T, B, H3 // 3), G)  # n
        if ops is not None:  # the loop of reset_after_loop, compiled (rnn_kernels.cpp)
            stats = (buffers.empty((T, B, H3), G), G.new_empty(T, B, 1)) if g_hh is not None else (None, None)  # û, rstd
            ops.gru_ra_forward(G, Hs, N, h0, mask, U, b_ih, b_hh, g_hh, *stats, eps)
        else:
            stats = reset_after_loop(G, Hs, N, h0, mask, U, b_hh, g_hh, eps)
        ctx.save_for_backward(x, W_ih, h0, Hs, G, N, *stats, mask, U, g_hh, b_ih, b_hh)
        ctx.eps = eps
        return masked_outputs(Hs, mask), Hs[-1].clone()  # y_t = m_t h_t, h_T

    @staticmethod
    def reference(x, W_ih, b_ih, h0, mask, U, b_hh, g_hh, eps):
        """The forward in plain autograd ops, step by step (what double backward differentiates)."""
        X, h, hs = reference_input_part(x, W_ih, b_ih), h0, []
        H = h0.shape[1]
        for t in range(X.shape[0]):
            u = recurrent_term(h, U, g_hh, eps, b_hh)  # u = U h_{t-1} + b_hh  (or γ_hh ⊙ û + b_hh)
            r, z = torch.sigmoid(X[t, :, : 2 * H] + u[:, : 2 * H]).chunk(2, 1)  # r, z = σ(X_rz + u_rz)
            n = torch.tanh(X[t, :, 2 * H :] + r * u[:, 2 * H :])  # n = tanh(X_n + r ⊙ u_n)
            h = reference_select(mask, t, n + z * (h - n), h)  # h_t = m_t ? h̃_t : h_{t-1}
            hs.append(h)
        return masked_outputs(torch.stack(hs), mask), h

    @staticmethod
    def backward(ctx, dY, dh_T):
        x, W_ih, h0, Hs, G, N, Vhat, Vrstd, mask, U, g_hh, b_ih, b_hh = ctx.saved_tensors
        if needs_recompute(dY, dh_T):  # a second derivative or batched gradients: see _bptt.py
            inputs = (x, W_ih, b_ih, h0, mask, U, b_hh, g_hh, ctx.eps)
            return recomputed_backward(ctx, GRUResetAfter.reference, inputs, (dY, dh_T))
        T, B, H3 = G.shape
        H = H3 // 3
        ln = g_hh is not None
        new = lambda *shape: buffers.empty(shape, G)
        dG = new(T, B, H3)  # ∂L/∂u = [∂L/∂u_rz, ∂L/∂u_n] (= [∂L/∂a_rz, ∂L/∂u_n])
        dV = new(T, B, H3) if ln else dG  # ∂L/∂(U h_{t-1})
        # ∂L/∂h_t, completed by step t+1 before step t reads it; step t then leaves ∂L/∂a_n in its place
        dH = incoming_gradient(dY, dh_T, mask)
        dh0 = torch.zeros_like(h0, memory_format=torch.contiguous_format)
        ops = kernels(G, H3 if ln else None)
        need_x, need_W_ih, need_b_ih, _, _, need_U, need_b_hh, need_g, _ = ctx.needs_input_grad
        # the compiled loop sums ∂L/∂b_ih and ∂L/∂b_hh while each step's rows are in cache
        db_ih, db_hh = (new(H3) if ops is not None and need else None for need in (need_b_ih, need_b_hh))
        if ops is not None:  # the loop of reset_after_backward_loop, compiled (rnn_kernels.cpp)
            ops.gru_ra_backward(dG, dV, dH, dh0, G, N, Hs, h0, mask, U, g_hh, Vhat, Vrstd, db_ih, db_hh)
        else:
            reset_after_backward_loop(dG, dV, dH, dh0, G, N, Hs, h0, mask, U, g_hh, Vhat, Vrstd)
            db_hh = dG.sum((0, 1)) if need_b_hh else None  # ∂L/∂b_hh = Σ_t ∂L/∂u
        dU = weight_gradient(dV, Hs, h0) if need_U else None  # ∂L/∂U = Σ_t ∂L/∂(U h_{t-1})ᵀ h_{t-1}
        dg_hh = diagonal_gradient(dG, Vhat) if need_g else None  # ∂L/∂γ_hh = Σ_t ∂L/∂u ⊙ û
        dX = dG  # ∂L/∂X = [∂L/∂a_rz, ∂L/∂a_n]: dG's first 2H, and (dG done with) ∂L/∂a_n in its place
        dX[..., 2 * H :] = dH
        needs = (need_x, need_W_ih, need_b_ih and ops is None)
        dx, dW_ih, db_x = input_part_backward(dX, x, W_ih, needs)  # from ∂L/∂X (∂L/∂b_ih = Σ_t ∂L/∂X_t)
        db_ih = db_ih if ops is not None else db_x
        return dx, dW_ih, db_ih, dh0, None, dU, db_hh, dg_hh, None


def reset_after_loop(G, Hs, N, h0, mask, U, b_hh, g_hh, eps):
    """GRUResetAfter's forward loop in Python (the reference for rnn_kernels.cpp's): G holds X on
    entry and [r, z, u_n] on return, N gets n, Hs h_t; returns the LayerNorm statistics (û, rstd)."""
    T, B, H3 = G.shape
    H = H3 // 3
    new = lambda *shape: G.new_empty(shape)
    u = RecurrentTerm(U, g_hh, eps, B)
    u_t, h_new = new(B, H3), new(B, H)  # scratch: u, h̃_t when masked
    u_rz, u_n = u_t[:, : 2 * H], u_t[:, 2 * H :]
    # per-step views
    (RZ, X_n), (Rs, Zs, _), Ns, H_new = per_step(G, 2 * H, H), per_step(G, H, H, H), per_step(N), per_step(Hs)
    valid = step_masks(mask, boolean=True)  # (B, 1) per step
    h = h0
    for t in range(T):
        r, z, n = Rs[t], Zs[t], Ns[t]
        u(h, b_hh, out=u_t)  # u = U h_{t-1} + b_hh  (or γ_hh ⊙ û + b_hh)
        RZ[t].add_(u_rz).sigmoid_()  # r, z = σ(X_rz + u_rz)
        torch.addcmul(X_n[t], r, u_n, out=n).tanh_()  # n = tanh(X_n + r ⊙ u_n)
        X_n[t].copy_(u_n)  # (X_n is spent: keep u_n in its place)
        torch.lerp(n, h, z, out=H_new[t] if mask is None else h_new)  # h̃_t = n + z ⊙ (h_{t-1} - n)
        if mask is not None:  # a padded step keeps the old state (where: exact)
            torch.where(valid[t], h_new, h, out=H_new[t])  # h_t = m_t ? h̃_t : h_{t-1}
        h = H_new[t]
    return saved_stats(u.stats)


def reset_after_backward_loop(dG, dV, dH, dh0, G, N, Hs, h0, mask, U, g_hh, Vhat, Vrstd):
    """GRUResetAfter's backward loop in Python (the reference for rnn_kernels.cpp's): dH holds
    ∂L/∂h_t on entry and ∂L/∂a_n on return, dG gets ∂L/∂u, dV ∂L/∂(U h) (dV is dG without
    LayerNorm), dh0 (zeros) ∂L/∂h_0."""
    T, B, H3 = G.shape
    H = H3 // 3
    ln = g_hh is not None
    new = lambda *shape: G.new_empty(shape)
    dhs = [*per_step(dH), dh0]  # per step; dhs[t - 1] for t = 0 is ∂L/∂h_0
    dn, drz, scratch = new(B, H), new(B, 2 * H), new(B, H3)  # ∂L/∂n, ∂L/∂(r, z), scratch
    dr, dz = drz[:, :H], drz[:, H:]
    # per-step views
    (Rs, Zs, U_n), (RZ, _), Ns, H_prev = per_step(G, H, H, H), per_step(G, 2 * H, H), per_step(N), [h0, *Hs[:-1]]
    dGs, (dG_rz, dG_n), dVs = per_step(dG), per_step(dG, 2 * H, H), per_step(dV)
    Vh, Vr = (per_step(Vhat), per_step(Vrstd)) if ln else (None, None)
    ms, not_ms = step_masks(mask) or (None, None)  # (B, 1) per step: m_t, 1 - m_t
    for t in reversed(range(T)):
        r, dh, dh_prev = Rs[t], dhs[t], dhs[t - 1]
        if mask is not None:
            mask_backward_(dh, dh_prev, ms[t], not_ms[t])  # ∂L/∂h̃_t = m_t ∂L/∂h_t, the rest to h_{t-1}
        # ∂L/∂z, ∂L/∂a_n = ∂L/∂n ⊙ (1 - n²) over ∂L/∂h_t (spent), ∂L/∂h_{t-1} += z ⊙ ∂L/∂h̃_t
        da_n = update_backward(dh, dh_prev, H_prev[t], Zs[t], Ns[t], dz, dn, dh)  # (h̃ = lerp(n, h_{t-1}, z))
        torch.mul(da_n, U_n[t], out=dr)  # ∂L/∂r = ∂L/∂a_n ⊙ u_n
        sigmoid_backward(drz, RZ[t], dG_rz[t])  # ∂L/∂u_rz = ∂L/∂a_rz = ∂L/∂(r, z) ⊙ σ'
        torch.mul(da_n, r, out=dG_n[t])  # ∂L/∂u_n = ∂L/∂a_n ⊙ r
        if ln:  # ∂L/∂(U h) = normalize_backward(∂L/∂u ⊙ γ_hh)
            normalize_backward(torch.mul(dGs[t], g_hh, out=dVs[t]), Vh[t], Vr[t], scratch)
        dh_prev.addmm_(dVs[t], U)  # ∂L/∂h_{t-1} += ∂L/∂(U h_{t-1}) U


class GRUResetBefore(torch.autograd.Function):
    """(x, W_ih, b, h0, mask, U, γ_hh, γ_hn, ε_hh, ε_hn) -> (y, h_T) for reset_after=False, b = b_ih +
    b_hh (b_hh only shifts the pre-activations here); absent options are None, and with W_ih None x
    is LN_ih(W x) already."""

    @staticmethod
    def forward(ctx, x, W_ih, b, h0, mask, U, g_hh, g_hn, eps_hh, eps_hn):
        A = input_part(x, W_ih, b)  # X; step t turns [X_rz, X_n] into [r, z, n]
        T, B, H3 = A.shape
        H = H3 // 3
        new = lambda *shape: buffers.empty(shape, A)
        Hs = new(T, B, H)  # h_t: the state after each step (and the output where there is no mask)
        RH = new(T, B, H)  # r ⊙ h_{t-1}, what U_n sees
        ops = kernels(A, H if g_hn is not None else 2 * H if g_hh is not None else None)
        if ops is not None:  # the loop of reset_before_loop, compiled (rnn_kernels.cpp)
            stats_rz = (new(T, B, 2 * H), new(T, B, 1)) if g_hh is not None else (None, None)  # û_rz, rstd
            stats_n = (new(T, B, H), new(T, B, 1)) if g_hn is not None else (None, None)  # û_n, rstd
            ops.gru_rb_forward(A, Hs, RH, h0, mask, U, g_hh, g_hn, *stats_rz, *stats_n, eps_hh, eps_hn)
        else:
            stats_rz, stats_n = reset_before_loop(A, Hs, RH, h0, mask, U, g_hh, g_hn, eps_hh, eps_hn)
        ctx.save_for_backward(x, W_ih, h0, Hs, A, RH, *stats_rz, *stats_n, mask, U, g_hh, g_hn, b)
        ctx.eps = (eps_hh, eps_hn)
        return masked_outputs(Hs, mask), Hs[-1].clone()  # y_t = m_t h_t, h_T

    @staticmethod
    def reference(x, W_ih, b, h0, mask, U, g_hh, g_hn, eps_hh, eps_hn):
        """The forward in plain autograd ops, step by step (what double backward differentiates)."""
        X, h, hs = reference_input_part(x, W_ih, b), h0, []
        H = h0.shape[1]
        for t in range(X.shape[0]):
            u_rz = recurrent_term(h, U[: 2 * H], g_hh, eps_hh, None)  # U_rz h_{t-1}  (or γ_hh ⊙ û)
            r, z = torch.sigmoid(X[t, :, : 2 * H] + u_rz).chunk(2, 1)  # r, z = σ(X_rz + u_rz)
            n = torch.tanh(X[t, :, 2 * H :] + recurrent_term(r * h, U[2 * H :], g_hn, eps_hn, None))  # n = tanh(X_n + U_n (r ⊙ h))
            h = reference_select(mask, t, n + z * (h - n), h)  # h_t = m_t ? h̃_t : h_{t-1}
            hs.append(h)
        return masked_outputs(torch.stack(hs), mask), h

    @staticmethod
    def backward(ctx, dY, dh_T):
        x, W_ih, h0, Hs, A, RH, Vhat, Vrstd, Nhat, Nrstd, mask, U, g_hh, g_hn, b = ctx.saved_tensors
        if needs_recompute(dY, dh_T):  # a second derivative or batched gradients: see _bptt.py
            inputs = (x, W_ih, b, h0, mask, U, g_hh, g_hn, *ctx.eps)
            return recomputed_backward(ctx, GRUResetBefore.reference, inputs, (dY, dh_T))
        T, B, H3 = A.shape
        H = H3 // 3
        ln = g_hh is not None
        new = lambda *shape: buffers.empty(shape, A)
        dA = new(T, B, H3)  # ∂L/∂a_r, ∂L/∂a_z, ∂L/∂a_n (= ∂L/∂X_t = ∂L/∂u)
        dV = new(T, B, H3) if ln else dA  # ∂L/∂(U_rz h_{t-1}), ∂L/∂(U_n (r ⊙ h_{t-1}))
        dH = incoming_gradient(dY, dh_T, mask)  # ∂L/∂h_t, completed by step t+1 before step t reads it
        dh0 = torch.zeros_like(h0, memory_format=torch.contiguous_format)
        ops = kernels(A, H if ln else None)
        stats = (Vhat, Vrstd, Nhat, Nrstd)
        if ops is not None:  # the loop of reset_before_backward_loop, compiled (rnn_kernels.cpp)
            ops.gru_rb_backward(dA, dV, dH, dh0, A, Hs, h0, mask, U, g_hh, g_hn, *stats)
        else:
            reset_before_backward_loop(dA, dV, dH, dh0, A, Hs, h0, mask, U, g_hh, g_hn, *stats)
        need_x, need_W_ih, need_b, _, _, need_U, need_g_hh, need_g_hn, _, _ = ctx.needs_input_grad
        dU = dg_hh = dg_hn = None
        if need_U:
            dU = torch.cat([
                weight_gradient(dV[..., : 2 * H], Hs, h0),  # ∂L/∂U_rz = Σ_t ∂L/∂(U_rz h_{t-1})ᵀ h_{t-1}
                matrix_gradient(dV[..., 2 * H :], RH),  # ∂L/∂U_n = Σ_t ∂L/∂(U_n rh)ᵀ (r ⊙ h_{t-1})
            ])
        if need_g_hh:
            dg_hh = diagonal_gradient(dA[..., : 2 * H], Vhat)  # ∂L/∂γ_hh = Σ_t ∂L/∂u_rz ⊙ û_rz
        if need_g_hn:
            dg_hn = diagonal_gradient(dA[..., 2 * H :], Nhat)  # ∂L/∂γ_hn = Σ_t ∂L/∂u_n ⊙ û_n
        dx, dW_ih, db = input_part_backward(dA, x, W_ih, (need_x, need_W_ih, need_b))  # from ∂L/∂X = ∂L/∂a
        return dx, dW_ih, db, dh0, None, dU, dg_hh, dg_hn, None, None


def reset_before_loop(A, Hs, RH, h0, mask, U, g_hh, g_hn, eps_hh, eps_hn):
    """GRUResetBefore's forward loop in Python (the reference for rnn_kernels.cpp's): A holds X on
    entry and [r, z, n] on return, RH gets r ⊙ h_{t-1}, Hs h_t; returns the LayerNorm statistics
    ((û_rz, rstd), (û_n, rstd))."""
    T, B, H3 = A.shape
    H = H3 // 3
    new = lambda *shape: A.new_empty(shape)
    u_rz = RecurrentTerm(U[: 2 * H], g_hh, eps_hh, B)
    u_n = RecurrentTerm(U[2 * H :], g_hn, eps_hn, B)
    h_new = new(B, H)  # scratch: h̃_t when masked
    # per-step views
    (A_rz, Ns), (Rs, Zs, _), RHs, H_new = per_step(A, 2 * H, H), per_step(A, H, H, H), per_step(RH), per_step(Hs)
    valid = step_masks(mask, boolean=True)  # (B, 1) per step
    h = h0
    for t in range(T):
        r, z, n = Rs[t], Zs[t], Ns[t]
        u_rz(h, A_rz[t], out=A_rz[t]).sigmoid_()  # r, z = σ(X_rz + U_rz h_{t-1})  (or γ_hh ⊙ û)
        u_n(torch.mul(r, h, out=RHs[t]), n, out=n).tanh_()  # n = tanh(X_n + U_n (r ⊙ h_{t-1}))
        torch.lerp(n, h, z, out=H_new[t] if mask is None else h_new)  # h̃_t = n + z ⊙ (h_{t-1} - n)
        if mask is not None:  # a padded step keeps the old state (where: exact)
            torch.where(valid[t], h_new, h, out=H_new[t])  # h_t = m_t ? h̃_t : h_{t-1}
        h = H_new[t]
    return saved_stats(u_rz.stats), saved_stats(u_n.stats)


def reset_before_backward_loop(dA, dV, dH, dh0, A, Hs, h0, mask, U, g_hh, g_hn, Vhat, Vrstd, Nhat, Nrstd):
    """GRUResetBefore's backward loop in Python (the reference for rnn_kernels.cpp's): dH holds
    ∂L/∂h_t on entry (spent on return), dA gets ∂L/∂a, dV ∂L/∂(U_rz h), ∂L/∂(U_n rh) (dV is dA
    without LayerNorm), dh0 (zeros) ∂L/∂h_0."""
    T, B, H3 = A.shape
    H = H3 // 3
    ln = g_hh is not None
    U_rz, U_n = U[: 2 * H], U[2 * H :]
    new = lambda *shape: A.new_empty(shape)
    dhs = [*per_step(dH), dh0]  # per step; dhs[t - 1] for t = 0 is ∂L/∂h_0
    dn, drz, drh = new(B, H), new(B, 2 * H), new(B, H)  # ∂L/∂n, ∂L/∂(r, z), ∂L/∂(r ⊙ h)
    scratch = new(B, 2 * H)
    dr, dz = drz[:, :H], drz[:, H:]
    # per-step views
    (Rs, Zs, Ns), (A_rz, _), H_prev = per_step(A, H, H, H), per_step(A, 2 * H, H), [h0, *Hs[:-1]]
    (dA_rz, dA_n), (dV_rz, dV_n) = per_step(dA, 2 * H, H), per_step(dV, 2 * H, H)
    Vh, Vr, Nh, Nr = (per_step(Vhat), per_step(Vrstd), per_step(Nhat), per_step(Nrstd)) if ln else (None,) * 4
    ms, not_ms = step_masks(mask) or (None, None)  # (B, 1) per step: m_t, 1 - m_t
    for t in reversed(range(T)):
        r, dh, dh_prev = Rs[t], dhs[t], dhs[t - 1]
        if mask is not None:
            mask_backward_(dh, dh_prev, ms[t], not_ms[t])  # ∂L/∂h̃_t = m_t ∂L/∂h_t, the rest to h_{t-1}
        # ∂L/∂z, ∂L/∂u_n = ∂L/∂a_n = ∂L/∂n ⊙ (1 - n²), ∂L/∂h_{t-1} += z ⊙ ∂L/∂h̃_t
        da_n = update_backward(dh, dh_prev, H_prev[t], Zs[t], Ns[t], dz, dn, dA_n[t])  # (h̃ = lerp(n, h_{t-1}, z))
        if ln:  # ∂L/∂(U_n rh) = normalize_backward(∂L/∂u_n ⊙ γ_hn)
            normalize_backward(torch.mul(da_n, g_hn, out=dV_n[t]), Nh[t], Nr[t], scratch[:, :H])
        torch.mm(dV_n[t], U_n, out=drh)  # ∂L/∂(r ⊙ h) = ∂L/∂(U_n rh) U_n
        torch.mul(drh, H_prev[t], out=dr)  # ∂L/∂r = ∂L/∂(r ⊙ h) ⊙ h_{t-1}
        da_rz = sigmoid_backward(drz, A_rz[t], dA_rz[t])  # ∂L/∂u_rz = ∂L/∂a_rz = ∂L/∂(r, z) ⊙ σ'
        if ln:  # ∂L/∂(U_rz h) = normalize_backward(∂L/∂u_rz ⊙ γ_hh)
            normalize_backward(torch.mul(da_rz, g_hh, out=dV_rz[t]), Vh[t], Vr[t], scratch)
        dh_prev.addcmul_(drh, r)  # ∂L/∂h_{t-1} += ∂L/∂(r ⊙ h) ⊙ r
        dh_prev.addmm_(dV_rz[t], U_rz)  # ∂L/∂h_{t-1} += ∂L/∂(U_rz h_{t-1}) U_rz


def gru_scan(cell, x: Tensor, h0: Tensor, mask: Tensor | None):
    """Whole-sequence GRU with the hand-derived BPTT; the contract of `Recurrent._scan`."""
    # Without reset_after, b_hh only shifts the pre-activations (LayerNorm has no bias here): it
    # joins b_ih. LN_ih is not recurrent: with it W x is normalised here, for all steps, with autograd.
    b_ih = cell.bias_ih
    if b_ih is not None and not cell.reset_after:
        b_ih = b_ih + cell.bias_hh
    W_ih = cell.weight_ih
    if cell.layer_norm:
        x, W_ih = cell.ln_ih(F.linear(x, W_ih)), None  # LN_ih(W x); the kernel adds b_ih
    if cell.reset_after:
        g_hh, eps = (cell.ln_hh.weight, cell.ln_hh.eps) if cell.layer_norm else (None, 0.0)
        return run_scan(GRUResetAfter, x, W_ih, b_ih, h0, mask, cell.weight_hh, cell.bias_hh, g_hh, eps)
    if cell.layer_norm:
        ln = (cell.ln_hh.weight, cell.ln_hn.weight, cell.ln_hh.eps, cell.ln_hn.eps)
    else:
        ln = (None, None, 0.0, 0.0)
    return run_scan(GRUResetBefore, x, W_ih, b_ih, h0, mask, cell.weight_hh, *ln)
