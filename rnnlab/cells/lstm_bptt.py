"""Hand-derived BPTT for `LSTMCell`: the whole sequence in one autograd.Function (Haste style).

Forward, per step, with the names of lstm.py's docstring (a = [a_i, a_f, a_g, a_o], the 4H gate
pre-activations; p_· = 0 without peephole):

    a_t  = X_t + R(h_{t-1})      X_t = W x_t + b, or LN_ih(W x_t) + b      b = b_ih + b_hh
                                 R(h) = U h, or LN_hh(U h) = γ_hh ⊙ û
    i, f = σ(a_i + p_i ⊙ c_{t-1}),  σ(a_f + p_f ⊙ c_{t-1})
    g    = φ(a_g)
    c̃_t  = f ⊙ c_{t-1} + i ⊙ g
    o    = σ(a_o + p_o ⊙ c̃_t)
    s    = ψ(n),   n = c̃_t, or LN_c(c̃_t) = γ_c ⊙ n̂ + β_c
    h̃_t  = k, or W_hr k with proj_size,   k = o ⊙ s
    h_t, c_t = (h̃_t, c̃_t) where m_t = 1, else (h_{t-1}, c_{t-1});   y_t = m_t h̃_t

X_t is not recurrent: it is one GEMM over all T·B rows before the loop, and its weight gradient one
GEMM after it. With layer_norm the caller computes LN_ih(W x) with ordinary autograd ops and passes
it in instead of x (b is still added here). The loop keeps only what the backward needs (gate activations, states,
s, LayerNorm statistics); the backward walks the steps in reverse to get ∂L/∂a_t for every step,
then forms each weight gradient as one GEMM or one reduction over all steps.

Plain torch.nn.LSTM configurations go to torch's own kernel where that is faster (`use_torch_kernel`).
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from rnnlab.cells._bptt import BACKWARD, normalize, normalize_backward


# v ↦ f(v), written into `out` (which may be v itself), so the loop allocates nothing
ACTIVATE = {
    "tanh": lambda v, out: torch.tanh(v, out=out),
    "sigmoid": lambda v, out: torch.sigmoid(v, out=out),
    "relu": lambda v, out: torch.clamp_min(v, 0, out=out),
    "identity": lambda v, out: out.copy_(v),
}

class LSTMScan(torch.autograd.Function):
    """(x, W_ih, b, h0, c0, mask, U, p_i, p_f, p_o, γ_hh, γ_c, β_c, W_hr, options) -> (y, h_T, c_T).

    x: (T, B, D) with W_ih (4H, D); or, with W_ih None, x is LN_ih(W x) itself (T, B, 4H).
    b: (4H) or None. Options that are off pass None for their parameters. options = (φ, ψ, ε_hh, ε_c).
    """

    @staticmethod
    def forward(ctx, x, W_ih, b, h0, c0, mask, U, p_i, p_f, p_o, g_hh, g_c, b_c, W_hr, options):
        phi, psi, eps_hh, eps_c = options
        act_g, act_s = ACTIVATE[phi], ACTIVATE[psi]
        T, B = x.shape[:2]
        H, R = c0.shape[1], h0.shape[1]
        peephole, ln_hh, ln_c, proj = p_i is not None, g_hh is not None, g_c is not None, W_hr is not None
        new = lambda *shape: x.new_empty(shape)
        A = new(T, B, 4, H)  # a_t, then in place the activations i, f, g, o
        X, A2 = x.reshape(T * B, -1), A.view(T * B, 4 * H)  # all steps at once
        if W_ih is None:  # X = LN_ih(W x) + b
            torch.add(X, b, out=A2) if b is not None else A2.copy_(X)
        else:  # X = W x + b
            torch.addmm(b, X, W_ih.t(), out=A2) if b is not None else torch.mm(X, W_ih.t(), out=A2)
        Hs, Cs = new(T + 1, B, R), new(T + 1, B, H)  # h_0..h_T, c_0..c_T: the carried states
        Hs[0], Cs[0] = h0, c0
        S = new(T, B, H)  # s = ψ(n)
        K = new(T, B, H) if proj else None  # k = o ⊙ s, what W_hr sees
        ln_hh_stats, ln_c_stats = [], []  # (û, rstd) and (n̂, rstd) of every step
        Y = new(T, B, R) if mask is not None else None
        Uh = new(B, 4 * H)  # scratch: U h_{t-1}
        p_if = torch.stack([p_i, p_f]) if peephole else None  # (2, H): i and f peek in one op
        Ut = U.t()
        # per-step views, made once (indexing inside the loop costs more than the small kernels)
        hs, cs, ss = Hs.unbind(), Cs.unbind(), S.unbind()
        a_s, if_s = A.view(T, B, 4 * H).unbind(), A[:, :, :2].unbind()
        i_s, f_s, g_s, o_s = (A[:, :, k].unbind() for k in range(4))
        if mask is not None:
            m_s, valid_s = mask.unsqueeze(-1).unbind(), (mask.unsqueeze(-1) != 0).unbind()
        for t in range(T):
            h, c, c_new, s = hs[t], cs[t], cs[t + 1], ss[t]
            a, i, f, g, o = a_s[t], i_s[t], f_s[t], g_s[t], o_s[t]
            if ln_hh:  # a = X + γ_hh ⊙ û,  û = normalize(U h_{t-1})
                ln_hh_stats.append(normalize(torch.mm(h, Ut, out=Uh), eps_hh))
                a.addcmul_(ln_hh_stats[-1][0], g_hh)
            else:  # a = X + U h_{t-1}
                a.addmm_(h, Ut)
            if peephole:  # i and f peek at c_{t-1}
                if_s[t].addcmul_(c.unsqueeze(1), p_if)
            torch.sigmoid(if_s[t], out=if_s[t])  # i, f
            act_g(g, g)  # g = φ(a_g)
            torch.mul(f, c, out=c_new).addcmul_(i, g)  # c̃ = f ⊙ c_{t-1} + i ⊙ g
            if peephole:  # o peeks at c̃_t
                o.addcmul_(c_new, p_o)
            torch.sigmoid(o, out=o)
            if ln_c:  # s = ψ(γ_c ⊙ n̂ + β_c),  n̂ = normalize(c̃)
                ln_c_stats.append(normalize(c_new, eps_c))
                act_s(torch.addcmul(b_c, ln_c_stats[-1][0], g_c, out=s), s)
            else:  # s = ψ(c̃)
                act_s(c_new, s)
            if proj:  # h̃ = W_hr (o ⊙ s)
                torch.mm(torch.mul(o, s, out=K[t]), W_hr.t(), out=hs[t + 1])
            else:  # h̃ = o ⊙ s
                torch.mul(o, s, out=hs[t + 1])
            if mask is not None:  # y = m h̃; a padded step keeps the old state, bit for bit
                torch.mul(hs[t + 1], m_s[t], out=Y[t])
                torch.where(valid_s[t], hs[t + 1], h, out=hs[t + 1])
                torch.where(valid_s[t], c_new, c, out=c_new)
        x_kept = x if W_ih is not None else None  # for ∂L/∂W_ih; LN_ih(W x) itself is not needed
        ctx.save_for_backward(x_kept, W_ih, Hs, Cs, A, S, K, mask, U, p_i, p_f, p_o, g_hh, g_c, W_hr)
        ctx.ln_stats = ln_hh_stats, ln_c_stats  # made here and private, so no version check is needed
        ctx.options = options
        ctx.has_bias = b is not None
        Y = Hs[1:].clone() if mask is None else Y  # a copy: the outputs are the caller's to modify
        return Y, Hs[T].clone(), Cs[T].clone()

    @staticmethod
    @once_differentiable
    def backward(ctx, dY, dh_T, dc_T):
        x, W_ih, Hs, Cs, A, S, K, mask, U, p_i, p_f, p_o, g_hh, g_c, W_hr = ctx.saved_tensors
        ln_hh_stats, ln_c_stats = ctx.ln_stats
        dsigmoid, dphi, dpsi = BACKWARD["sigmoid"], BACKWARD[ctx.options[0]], BACKWARD[ctx.options[1]]
        T, B, _, H = A.shape
        R = Hs.shape[2]
        peephole, ln_hh, ln_c, proj = p_i is not None, g_hh is not None, g_c is not None, W_hr is not None
        new = lambda *shape: A.new_empty(shape)
        dA = new(T, B, 4, H)  # ∂L/∂a_t = ∂L/∂X_t
        dUh = new(T, B, 4 * H) if ln_hh else dA.view(T, B, 4 * H)  # ∂L/∂(U h_{t-1})
        dHt = new(T, B, R) if proj else None  # ∂L/∂h̃_t, kept for ∂L/∂W_hr
        # the diagonal parameters' gradients Σ_t u_t ⊙ v_t, summed per step here and over the batch at
        # the end (no (T, B, ·) temporaries): ∂L/∂p_i, ∂L/∂p_f, ∂L/∂p_o, ∂L/∂γ_hh, ∂L/∂γ_c, ∂L/∂β_c
        zeros = lambda n: A.new_zeros(B, n)
        dp_i, dp_f, dp_o = (zeros(H), zeros(H), zeros(H)) if peephole else (None, None, None)
        dg_hh = zeros(4 * H) if ln_hh else None
        dg_c, db_c = (zeros(H), zeros(H)) if ln_c else (None, None)
        dh, dc = dh_T.clone(), dc_T.clone()  # ∂L/∂h_t, ∂L/∂c_t: what the steps after t send back
        dct = new(B, H) if mask is not None else dc  # ∂L/∂c̃_t (c̃_t is c_t without a mask)
        dht, dk, tmp = new(B, R), new(B, H) if proj else None, new(B, H)
        scratch_hh, scratch_c = new(B, 4 * H) if ln_hh else None, new(B, H) if ln_c else None
        cs, ss, dY_s = Cs.unbind(), S.unbind(), dY.unbind()
        da_s, dif_s = dA.view(T, B, 4 * H).unbind(), dA[:, :, :2].unbind()
        i_s, f_s, g_s, o_s, if_s = (*(A[:, :, k].unbind() for k in range(4)), A[:, :, :2].unbind())
        dai_s, daf_s, dag_s, dao_s = (dA[:, :, k].unbind() for k in range(4))
        if mask is not None:
            m_s, keep_s = mask.unsqueeze(-1).unbind(), (1 - mask).unsqueeze(-1).unbind()
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
            dn = dpsi(torch.mul(dk, o, out=tmp), s, tmp)  # ∂L/∂n = (∂L/∂k ⊙ o) ⊙ ψ'
            if ln_c:
                nhat, rstd = ln_c_stats[t]
                dg_c.addcmul_(dn, nhat)  # ∂L/∂γ_c += ∂L/∂n ⊙ n̂
                db_c.add_(dn)  # ∂L/∂β_c += ∂L/∂n
                dnhat = dn.mul_(g_c)  # ∂L/∂n̂ = ∂L/∂n ⊙ γ_c
                dct.add_(normalize_backward(dnhat, nhat, rstd, scratch_c))  # ∂L/∂c̃ += (∂n̂/∂c̃)ᵀ ∂L/∂n̂
            else:
                dct.add_(dn)  # ∂L/∂c̃ += ∂L/∂n  (n = c̃)
            if peephole:
                dct.addcmul_(dao, p_o)  # ∂L/∂c̃ += ∂L/∂a_o ⊙ p_o
                dp_o.addcmul_(dao, cs[t + 1])  # ∂L/∂p_o += ∂L/∂a_o ⊙ c̃_t (c_t wherever ∂L/∂a_o ≠ 0)
            torch.mul(dct, g, out=dai)  # ∂L/∂i = ∂L/∂c̃ ⊙ g
            torch.mul(dct, c_prev, out=daf)  # ∂L/∂f = ∂L/∂c̃ ⊙ c_{t-1}
            dsigmoid(dif_s[t], if_s[t], dif_s[t])  # ∂L/∂a_i, ∂L/∂a_f = (∂L/∂i, ∂L/∂f) ⊙ σ'
            dphi(torch.mul(dct, i, out=dag), g, dag)  # ∂L/∂a_g = (∂L/∂c̃ ⊙ i) ⊙ φ'
            if mask is None:
                dc.mul_(f)  # ∂L/∂c_{t-1} = ∂L/∂c̃_t ⊙ f  (dct is dc)
            else:
                dc.addcmul_(dct, f)  # ∂L/∂c_{t-1} += ∂L/∂c̃_t ⊙ f
            if peephole:  # ∂L/∂c_{t-1} += ∂L/∂a_i ⊙ p_i + ∂L/∂a_f ⊙ p_f
                dc.addcmul_(dai, p_i).addcmul_(daf, p_f)
                dp_i.addcmul_(dai, c_prev)  # ∂L/∂p_i += ∂L/∂a_i ⊙ c_{t-1}
                dp_f.addcmul_(daf, c_prev)  # ∂L/∂p_f += ∂L/∂a_f ⊙ c_{t-1}
            if ln_hh:  # ∂L/∂(U h_{t-1}) = (∂û/∂(U h))ᵀ (∂L/∂a ⊙ γ_hh)
                uhat, rstd = ln_hh_stats[t]
                dg_hh.addcmul_(da_s[t], uhat)  # ∂L/∂γ_hh += ∂L/∂a ⊙ û
                normalize_backward(torch.mul(da_s[t], g_hh, out=dUh[t]), uhat, rstd, scratch_hh)
            if mask is None:
                torch.mm(dUh[t], U, out=dh)  # ∂L/∂h_{t-1} = Uᵀ ∂L/∂(U h_{t-1})
            else:
                dh.addmm_(dUh[t], U)  # ∂L/∂h_{t-1} += Uᵀ ∂L/∂(U h_{t-1})
        # parameter gradients: sums over steps and batch, each one GEMM or one reduction
        flat = lambda v: v.reshape(T * B, -1)
        dA2 = flat(dA)
        dx = dW_ih = dW_hr = None
        diagonal = dp_i, dp_f, dp_o, dg_hh, dg_c, db_c
        dp_i, dp_f, dp_o, dg_hh, dg_c, db_c = (v.sum(0) if v is not None else None for v in diagonal)
        db = dA2.sum(0) if ctx.has_bias else None  # ∂L/∂b = Σ_t ∂L/∂a_t
        if W_ih is None:
            dx = dA.view(T, B, 4 * H)  # ∂L/∂LN_ih(W x_t) = ∂L/∂a_t
        else:
            if ctx.needs_input_grad[0]:
                dx = (dA2 @ W_ih).view_as(x)  # ∂L/∂x_t = W_ihᵀ ∂L/∂a_t
            if ctx.needs_input_grad[1]:
                dW_ih = dA2.t() @ flat(x)  # ∂L/∂W_ih = Σ_t ∂L/∂a_t x_tᵀ
        dU = flat(dUh).t() @ flat(Hs[:-1])  # ∂L/∂U = Σ_t ∂L/∂(U h_{t-1}) h_{t-1}ᵀ
        if proj:
            dW_hr = flat(dHt).t() @ flat(K)  # ∂L/∂W_hr = Σ_t ∂L/∂h̃_t k_tᵀ
        return dx, dW_ih, db, dh, dc, None, dU, dp_i, dp_f, dp_o, dg_hh, dg_c, db_c, dW_hr, None


def lstm_scan(cell, x: Tensor, state: tuple[Tensor, Tensor], mask: Tensor | None):
    """The whole sequence with the hand-derived BPTT (or torch's kernel); `Recurrent._scan`'s contract."""
    if use_torch_kernel(cell, x, mask):
        return torch_lstm(cell, x, state)
    b = cell.bias_ih + cell.bias_hh if cell.bias_ih is not None else None
    W_ih = cell.weight_ih
    if cell.layer_norm:  # LN_ih(W x) is not recurrent: autograd does it, for all steps at once
        x, W_ih = cell.ln_ih(x @ W_ih.t()), None
    peep = (cell.weight_ci, cell.weight_cf, cell.weight_co) if cell.peephole else (None,) * 3
    ln = (cell.ln_hh.weight, cell.ln_c.weight, cell.ln_c.bias) if cell.layer_norm else (None,) * 3
    eps = (cell.ln_hh.eps, cell.ln_c.eps) if cell.layer_norm else (0.0, 0.0)
    options = (cell.candidate_activation, cell.state_activation, *eps)
    h0, c0 = state
    y, h, c = LSTMScan.apply(x, W_ih, b, h0, c0, mask, cell.weight_hh, *peep, *ln, cell.weight_hr, options)
    return y, (h, c)


def use_torch_kernel(cell, x: Tensor, mask: Tensor | None) -> bool:
    """torch's own kernel wins where oneDNN (CPU, float32) or cuDNN runs it: plain cell, no proj, no mask.

    Training step (forward + backward) of the plain cell in ms, float32, 1 thread on a 2-core CPU
    shared with other jobs (medians of 7 steps, 3 for the largest shape; runs vary by ±15%):

        (T, B, D, H)          hand-derived  torch kernel  torch.nn.LSTM  autograd loop
        (100, 32, 64, 256)            127           114            112            160
        (200, 16, 32, 128)             60            30             30            122
        (50, 128, 512, 1024)         3595          3275           3314           4095

    so this kernel runs every plain unmasked float32 cell. Elsewhere torch falls back to its generic
    kernel, which lost to the hand-derived path: proj_size H/2 at (100, 32, 64, 256) 106 vs 94 ms and
    at (200, 16, 32, 128) 61 vs 45 ms; a mask (packed sequence) 422 vs 118 and 149 vs 58 ms; float64
    at (200, 16, 32, 128) 134 vs 123 ms. CUDA (cuDNN) was not measured here.
    """
    if not cell.is_torch_lstm or cell.proj_size or mask is not None:
        return False
    return x.is_cuda or (x.dtype == torch.float32 and torch.backends.mkldnn.is_available())


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
