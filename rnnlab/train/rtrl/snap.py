"""SnAp-n (Menick et al. 2021, "Practical real time recurrent learning with a sparse
approximation"): keep only the entries of J that n steps of the recursion can reach.

The pattern is fixed before training, from the structure of the step (which entries of D_t and
M̄_t can ever be nonzero):
    P_1 = pattern(M̄),   P_n = P_{n−1} ∪ pattern(D) · P_{n−1}                       (S1)
and every step computes J_t = D_t J_{t−1} + M̄_t on the entries of P_n only, dropping the rest
(S2). SnAp-1 keeps the immediate pattern: for an Elman or gated cell each weight influences
only its own unit, O(P) numbers instead of O(S·P). For a recurrence that is element-wise
(diagonal D, e.g. `LeakyCell` over an `ElementwiseCell`) P_1 is closed under D, so SnAp-1 *is*
exact RTRL at O(P) cost. For a dense single-layer network SnAp-2's pattern is already full: it
equals exact RTRL (the test of this file's code against exact.py).

Method "diag" (exact element-wise RTRL) keeps the closure of P_1 under D instead,
    P_∞ = the fixed point of (S1)                                                       (S4)
which drops nothing, so it is exact for every cell; it is cheap — and "diag" accepts the cell —
only when the closure stays on the parameter's own unit: at most one row per state leaf in every
column (an IndRNN's h_k; an element-wise LSTM's h_k and c_k — there P_1 alone is *not* closed:
an output-gate weight of unit k reaches only h_k immediately, and c_k one step later through
∂c_t,k/∂h_{t−1,k}, so SnAp-1 drops that entry and differs from exact RTRL on the output gate).

Storage: for a parameter (Y, M) whose block is Outer(G, v) the pattern does not depend on the
column m, so it is held as K (row, y) entries × M: values (B, K, M). The product D J on the
pattern is a sum over pairs of entries in the same parameter column (S3); in a multi-layer
network each layer keeps only its own parameters' influence and lower layers are credited
through the current step (see engine.py).
"""
from __future__ import annotations

import torch
from torch import Tensor

from rnnlab.errors import ConfigError
from rnnlab.train.rtrl.jacobian import StepJacobian


def snap_pattern(D_pattern: Tensor, M_pattern: Tensor, n: int) -> Tensor:
    """(S1): P_n over the R rows of z from pattern(D) (R, S) and pattern(M̄) (R, Y)."""
    P = M_pattern.clone()
    S = D_pattern.shape[1]
    for _ in range(n - 1):
        P = P | ((D_pattern.double() @ P[:S].double()) > 0)
    return P


def _pairs(rows: Tensor, ys: Tensor, S: int) -> tuple[Tensor, Tensor]:
    """All (k, k') with ys[k] == ys[k'] and rows[k'] < S (k' a carried state entry): (S3)'s sum."""
    order = torch.argsort(ys, stable=True)
    ys_sorted = ys[order]
    uniq, counts = torch.unique_consecutive(ys_sorted, return_counts=True)
    starts = torch.cumsum(counts, 0) - counts
    group = torch.searchsorted(uniq, ys)            # each entry's column group
    ks, kps = [], []
    for j in range(int(counts.max()) if counts.numel() else 0):
        has = counts[group] > j
        k = torch.nonzero(has).flatten()
        kp = order[starts[group[k]] + j]
        keep = rows[kp] < S
        ks.append(k[keep])
        kps.append(kp[keep])
    if not ks:
        return rows.new_zeros(0), rows.new_zeros(0)
    return torch.cat(ks), torch.cat(kps)


class SnapInfluence:
    """SnAp-n influence of one layer's state on its own parameters (see the module docstring).
    `require_exact` (method "diag"): keep the closure P_∞ (S4) and refuse (ConfigError) a cell
    whose closure leaves the parameter's unit (more than one row per state leaf in a column)."""

    exact = False

    def __init__(self, n: int, require_exact: bool = False):
        self.n, self.require_exact = n, require_exact
        self.layout = None  # per block: (rows, ys, k, k') once the first step has shown the structure

    def _setup(self, jac: StepJacobian, S: int) -> None:
        from rnnlab.cells._state import leaves
        Dp = jac.D_pattern if jac.D_pattern is not None else jac.D.detach().ne(0).any(0)
        pats = jac.block_patterns or [b.pattern() for b in jac.blocks]
        per_unit = sum(1 for leaf in leaves(jac.state) if leaf.is_floating_point())  # rows a unit owns
        self.layout, self.closed, self.local = [], True, True
        for P1 in pats:
            P = snap_pattern(Dp, P1, self.n)
            if self.require_exact:                                                   # (S4)
                for _ in range(S):
                    grown = snap_pattern(Dp, P, 2)
                    if grown.equal(P):
                        break
                    P = grown
                self.local &= int(P[:S].sum(0).max()) <= per_unit if P.numel() else True
            reach = (Dp.double() @ P[:S].double()) > 0
            self.closed &= bool((reach <= P).all())
            rows, ys = torch.nonzero(P, as_tuple=True)
            self.layout.append((rows, ys, *_pairs(rows, ys, S)))
        if self.require_exact and not self.local:
            raise ConfigError("exact element-wise RTRL (diag) needs a recurrence where each parameter's influence "
                              "stays on its own unit (a diagonal or unit-wise recurrence: an element-wise cell, "
                              "leaky over one, the element-wise LSTM); this cell mixes units, so the influence "
                              "pattern closed under D_t is dense: use --learning rtrl or snap1")

    def init(self, batch: int, S: int, device, dtype):
        return None  # sized at the first step, once the pattern is known

    def step(self, jac: StepJacobian, V, mask: Tensor | None, below=None):
        S = jac.D.shape[2]
        if self.layout is None:
            self._setup(jac, S)
        if V is None:
            V = [jac.D.new_zeros(jac.D.shape[0], rows.shape[0], b.width)
                 for b, (rows, *_) in zip(jac.blocks, self.layout)]
        new = []
        for b, (rows, ys, k, kp), v in zip(jac.blocks, self.layout, V):
            val = b.take(rows, ys)                                            # M̄_t on the pattern
            coef = jac.D[:, rows[k], rows[kp]]                                # D_t[r_k, r_k'] (S3)
            val = val.index_add(1, k, coef.unsqueeze(2) * v[:, kp])           # (S2)
            if mask is not None:
                val = torch.where(mask.view(-1, 1, 1), val, v)
            new.append(val)
        return new, (new, jac.out_rows, mask)

    def gradients(self, handle, c: Tensor, shapes: list[torch.Size]) -> list[Tensor]:
        """c · J^{out} per parameter (its entries on out rows only)."""
        V, out_rows, mask = handle
        if mask is not None:
            c = torch.where(mask.view(-1, 1), c, torch.zeros((), dtype=c.dtype, device=c.device))
        o0, o1 = out_rows.start, out_rows.stop
        grads = []
        for (rows, ys, _, _), v, shape in zip(self.layout, V, shapes):
            on = (rows >= o0) & (rows < o1)
            coef = c[:, (rows - o0).clamp(0, o1 - o0 - 1)] * on.to(c.dtype)    # (B, K)
            per = torch.einsum("bk,bkm->km", coef, v)
            g = torch.zeros(shape.numel() // v.shape[2], v.shape[2], dtype=c.dtype, device=c.device)
            g.index_add_(0, ys, per)
            grads.append(g.view(shape))
        return grads
