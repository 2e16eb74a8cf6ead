"""Exact RTRL for one layer: the dense influence matrix and its recursion.

    J_t = D_t J_{t−1} + [X_t J^{below}_t | M̄_t]          (R1)  (B, S, P_below + P_own)
    J^{out}_t = rows `out_rows` of the same product       (R2)  what the loss and the layer above read
    ∂L_t/∂θ = Σ_b c_t[b] J^{out}_t[b],  c_t = ∂L_t/∂out_t  (R3)

J^{below}_t is the out-influence of the layer below (columns: every parameter under this layer,
including an input module's): in a stack, a layer's state depends on all lower layers'
parameters, so layer l carries S_l × (P_1 + … + P_l) numbers — the cost of exact multi-layer
RTRL is Σ_l S_l Σ_{m≤l} P_m memory and Σ_l S_l² Σ_{m≤l} P_m time per step.
At a padded step (mask False) J is carried unchanged and J^{out} is 0, like the state and output.
"""
from __future__ import annotations

import torch
from torch import Tensor

from rnnlab.train.rtrl.jacobian import StepJacobian


class ExactInfluence:
    """The dense influence of one layer's state on its own and every lower parameter."""

    exact = True

    def __init__(self, own: int, below: int):
        self.own, self.below = own, below  # parameter counts: this layer's, and everything under it

    def init(self, batch: int, S: int, device, dtype) -> Tensor:
        return torch.zeros(batch, S, self.below + self.own, device=device, dtype=dtype)

    def step(self, jac: StepJacobian, J: Tensor, mask: Tensor | None, below: Tensor | None):
        """(J_t, J^{out}_t) from J_{t−1}; `below` (B, Dx, P_below) or None when nothing is under."""
        immediate = torch.cat([b.dense() for b in jac.blocks], 2) if jac.blocks else J.new_zeros(J.shape[0], jac.D.shape[1], 0)
        if self.below:
            immediate = torch.cat([jac.X @ below, immediate], 2)
        Z = torch.baddbmm(immediate, jac.D, J)                  # (R1)
        S = J.shape[1]
        J_new, J_out = Z[:, :S], Z[:, jac.out_rows]             # (R2)
        if mask is not None:
            m = mask.view(-1, 1, 1)
            J_new = torch.where(m, J_new, J)
            J_out = torch.where(m, J_out, torch.zeros((), dtype=J.dtype, device=J.device))
        return J_new, J_out

    @staticmethod
    def gradient(J_out: Tensor, c: Tensor) -> Tensor:
        """Σ_b c[b] J^{out}[b]: (P_below + P_own,)   (R3)"""
        return torch.einsum("bo,bop->p", c, J_out)
