"""One step's Jacobians, the pieces of the RTRL recursion J_t = D_t J_{t−1} + M̄_t.

A layer's cell maps (x_t, s_{t−1}; θ) to (out_t, s_t). RTRL needs, per batch row:

    D   = ∂z_t/∂s_{t−1}   (B, R, S)     the state-to-state Jacobian
    X   = ∂z_t/∂x_t       (B, R, Dx)    what a lower layer's influence passes through
    M̄   = ∂z_t/∂θ         (B, R, P)     the immediate influence (θ held, s_{t−1} held)

where z_t stacks the new state s_t (its floating leaves, depth first: an LSTM's [h; c], S rows)
and, when out_t is not one of those rows, out_t below it (R = S or S + O rows). `out_rows` says
which rows of z_t are out_t.

M̄ is kept per parameter as a *block*, never materialised unless asked: a linear map y = W v + b
inside the cell contributes ∂z/∂W[y, m] = G[:, :, y] v[:, m] (an `Outer` block, G = ∂z/∂y) and
∂z/∂b = G (a `Full` block). Exact RTRL asks for `dense()`, UORO for `vjp(u)` = uᵀM̄ per row
(O(R·P) without the O(R·P) tensor for an Outer block), SnAp for `take(rows, ys)` (only the
entries of its sparsity pattern).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from rnnlab.cells._state import State


class Outer:
    """∂z/∂W for y = W v (+ b): entry [b, r, y, m] = G[b, r, y] · v[b, m]; the parameter is (Y, M)."""

    def __init__(self, G: Tensor, v: Tensor):
        self.G, self.v = G, v  # (B, R, Y), (B, M)

    @property
    def base(self) -> int:
        return self.G.shape[2]

    @property
    def width(self) -> int:
        return self.v.shape[1]

    def dense(self) -> Tensor:
        """(B, R, Y·M), the parameter's entries in row-major order."""
        return (self.G.unsqueeze(3) * self.v[:, None, None, :]).flatten(2)

    def vjp(self, u: Tensor) -> Tensor:
        """uᵀ M̄ per row: (B, Y·M) from u (B, R)."""
        return (torch.einsum("br,bry->by", u, self.G).unsqueeze(2) * self.v.unsqueeze(1)).flatten(1)

    def take(self, rows: Tensor, ys: Tensor) -> Tensor:
        """Entries (r_k, y_k, m) for all m: (B, K, M)."""
        return self.G[:, rows, ys].unsqueeze(2) * self.v.unsqueeze(1)

    def pattern(self) -> Tensor:
        """Where G can be nonzero, (R, Y) bool (any m)."""
        return self.G.detach().ne(0).any(0)


class Full:
    """A block stored as it is: entry [b, r, p] = M[b, r, p] (a bias, a peephole, a generic cell)."""

    def __init__(self, M: Tensor):
        self.M = M  # (B, R, P)

    base = property(lambda self: self.M.shape[2])
    width = property(lambda self: 1)

    def dense(self) -> Tensor:
        return self.M

    def vjp(self, u: Tensor) -> Tensor:
        return torch.einsum("br,brp->bp", u, self.M)

    def take(self, rows: Tensor, ys: Tensor) -> Tensor:
        return self.M[:, rows, ys].unsqueeze(2)

    def pattern(self) -> Tensor:
        return self.M.detach().ne(0).any(0)




@dataclass
class StepJacobian:
    """One step of one layer: the new values and the Jacobians of z_t (see the module docstring).
    `blocks` holds one block per parameter of the cell, in `cell.parameters()` order; `D_pattern`
    / `block_patterns` are the structural sparsity (what can ever be nonzero) SnAp uses, or None
    to read it from the values."""
    out: Tensor                 # (B, O)
    state: State                # the cell's new state (its own structure)
    D: Tensor                   # (B, R, S)
    X: Tensor                   # (B, R, Dx)
    blocks: list  # Outer | Full | Rows, one per parameter
    out_rows: slice
    D_pattern: Tensor | None = None
    block_patterns: list[Tensor] | None = None


def diag_rows(values: Tensor, rows: int, offset: int) -> Tensor:
    """A (B, rows, H) tensor that is `values` (B, H) on the diagonal starting at row `offset`:
    the Jacobian of element-wise terms (unit k of a gate acts on row offset + k only)."""
    B, H = values.shape
    out = values.new_zeros(B, rows, H)
    idx = torch.arange(H, device=values.device)
    out[:, offset + idx, idx] = values
    return out


def diag_pattern(rows: int, width: int, offset: int, device=None) -> Tensor:
    out = torch.zeros(rows, width, dtype=torch.bool, device=device)
    idx = torch.arange(width, device=device)
    out[offset + idx, idx] = True
    return out


class Rows:
    """A parameter whose rows come from different linear maps (a Cho GRU's weight_hh: its r, z rows
    read h, its n rows read r ⊙ h): the blocks of its row ranges, in order, each of width M."""

    def __init__(self, parts: list[Outer | Full]):
        self.parts = parts

    base = property(lambda self: sum(p.base for p in self.parts))
    width = property(lambda self: self.parts[0].width)

    def dense(self) -> Tensor:
        return torch.cat([p.dense() for p in self.parts], 2)

    def vjp(self, u: Tensor) -> Tensor:
        return torch.cat([p.vjp(u) for p in self.parts], 1)

    def take(self, rows: Tensor, ys: Tensor) -> Tensor:
        out, start = None, 0
        for p in self.parts:
            sel = (ys >= start) & (ys < start + p.base)
            part = p.take(rows[sel], ys[sel] - start)
            if out is None:
                out = part.new_zeros(part.shape[0], ys.shape[0], part.shape[2])
            out[:, sel] = part
            start += p.base
        return out

    def pattern(self) -> Tensor:
        return torch.cat([p.pattern() for p in self.parts], 1)
