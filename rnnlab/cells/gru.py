"""Gated recurrent unit, both published variants.

    r = σ(W_r x + b_ir + U_r h + b_hr)
    z = σ(W_z x + b_iz + U_z h + b_hz)
    n = tanh(W_n x + b_in + r ⊙ (U_n h + b_hn))     reset_after=True  (cuDNN / torch.nn.GRUCell)
    n = tanh(W_n x + b_in + U_n (r ⊙ h) + b_hn)     reset_after=False (Cho et al. 2014)
    h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}

Parameters and gate order r, z, n as torch.nn.GRU: weight_ih (3H, D), weight_hh (3H, H),
bias_ih (3H), bias_hh (3H). With `layer_norm=True` the projections are normalised before the
biases are added: W x over its 3H rows (LN_ih); U h over its 3H rows (LN_hh) when reset_after,
else U_rz h over 2H rows (LN_hh) and U_n (r ⊙ h) over H rows (LN_hn).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnlab.cells.base import RecurrentCell, check_size


class GRUCell(RecurrentCell):
    """GRU cell (torch.nn.GRUCell's parameters, gate order r, z, n), either published variant.

    GRUCell(input_size D, hidden_size H, *, bias=True, reset_after=True (torch / cuDNN; False: Cho
    et al.), layer_norm=False). weight_ih (3H, D), weight_hh (3H, H), bias_ih, bias_hh (3H); with
    layer_norm, gain-only LayerNorms ln_ih (3H), ln_hh (3H, or 2H without reset_after) and ln_hn
    (H, without reset_after only). State h (B, H); out_t = h_t. step's internals: "r", "z" (gates)
    and "n" (candidate), each (B, H). `fused_scan(x (T, B, D), h0, mask (T, B) or None)` →
    (y (T, B, H), h_T) runs the whole sequence through the hand-derived BPTT of gru_bptt.py.
    """

    def __init__(
        self, input_size: int, hidden_size: int, *, bias: bool = True, reset_after: bool = True, layer_norm: bool = False
    ):
        super().__init__()
        H = hidden_size
        self.input_size = check_size("GRUCell", "input_size", input_size)
        self.hidden_size = check_size("GRUCell", "hidden_size", hidden_size)
        self.reset_after, self.layer_norm = reset_after, layer_norm
        self.weight_ih = nn.Parameter(torch.empty(3 * H, input_size))
        self.weight_hh = nn.Parameter(torch.empty(3 * H, H))
        self.bias_ih = nn.Parameter(torch.empty(3 * H)) if bias else None
        self.bias_hh = nn.Parameter(torch.empty(3 * H)) if bias else None
        if layer_norm:
            self.ln_ih = nn.LayerNorm(3 * H, bias=False)
            self.ln_hh = nn.LayerNorm(3 * H if reset_after else 2 * H, bias=False)
            self.ln_hn = None if reset_after else nn.LayerNorm(H, bias=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.layer_norm:
            for ln in (self.ln_ih, self.ln_hh, self.ln_hn):
                if ln is not None:
                    ln.reset_parameters()

    def init_state(self, batch: int, device=None, dtype=None) -> Tensor:
        return self._zeros(batch, self.hidden_size, device, dtype)

    def _gates(self, x_t: Tensor, h: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """r, z, n, each (B, H), for one step from h (B, H)."""
        H = self.hidden_size
        wx = F.linear(x_t, self.weight_ih)
        if self.layer_norm:
            wx = self.ln_ih(wx)
        if self.bias_ih is not None:
            wx = wx + self.bias_ih
        b_hh = self.bias_hh
        if self.reset_after:
            uh = F.linear(h, self.weight_hh)
            if self.layer_norm:
                uh = self.ln_hh(uh)
            if b_hh is not None:
                uh = uh + b_hh
            r, z = torch.sigmoid(wx[:, : 2 * H] + uh[:, : 2 * H]).chunk(2, 1)
            n = torch.tanh(wx[:, 2 * H :] + r * uh[:, 2 * H :])
        else:
            uh = F.linear(h, self.weight_hh[: 2 * H])
            if self.layer_norm:
                uh = self.ln_hh(uh)
            if b_hh is not None:
                uh = uh + b_hh[: 2 * H]
            r, z = torch.sigmoid(wx[:, : 2 * H] + uh).chunk(2, 1)
            un = F.linear(r * h, self.weight_hh[2 * H :])
            if self.layer_norm:
                un = self.ln_hn(un)
            if b_hh is not None:
                un = un + b_hh[2 * H :]
            n = torch.tanh(wx[:, 2 * H :] + un)
        return r, z, n

    internals = ("r", "z", "n")

    def step(self, x_t: Tensor, state: Tensor) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
        """(h_t, h_t, {"r", "z": gates (B, H), "n": candidate (B, H)})."""
        self.check_input(x_t, state)
        r, z, n = self._gates(x_t, state)
        h = n + z * (state - n)  # = (1 - z) ⊙ n + z ⊙ h_{t-1}
        return h, h, {"r": r, "z": z, "n": n}

    def fused_scan(self, x: Tensor, h0: Tensor, mask: Tensor | None):
        """Whole sequence with the hand-derived BPTT (see gru_bptt.py)."""
        from rnnlab.cells.gru_bptt import gru_scan

        return gru_scan(self, x, h0, mask)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, reset_after={self.reset_after}, layer_norm={self.layer_norm}"
