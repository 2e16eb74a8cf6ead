"""Long short-term memory cell, torch.nn.LSTMCell-compatible with the classic options.

    i, f, o = σ(W_i x + U_i h + p_i ⊙ c_{t-1}),  σ(W_f x + U_f h + p_f ⊙ c_{t-1}),  σ(W_o x + U_o h + p_o ⊙ c_t)
    g       = φ(W_g x + U_g h)                     candidate, φ = candidate_activation
    c_t     = f ⊙ c_{t-1} + i ⊙ g
    h_t     = W_hr (o ⊙ ψ(c_t))                     ψ = state_activation; W_hr only with proj_size

(biases b_ih + b_hh omitted above.) Parameters and gate order i, f, g, o as torch.nn.LSTM:
weight_ih (4H, D), weight_hh (4H, P or H), bias_ih (4H), bias_hh (4H); peephole weights are
diagonal: weight_ci, weight_cf, weight_co (H,) (Gers & Schmidhuber 2000). With
`layer_norm=True` (Ba et al. 2016) the two projections are normalised over all 4H gate
pre-activations before the biases are added, and ψ sees LN(c_t):
    gates = LN_ih(W x) + LN_hh(U h) + b_ih + b_hh,   h_t = o ⊙ ψ(LN_c(c_t)).
State is (h, c).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnlab.cells.activations import ACTIVATIONS, check_activation
from rnnlab.cells.base import RecurrentCell, check_size


class LSTMCell(RecurrentCell):
    """LSTM cell (torch.nn.LSTMCell's parameters, gate order i, f, g, o), with the classic options.

    LSTMCell(input_size D, hidden_size H, *, bias=True, peephole=False, candidate_activation="tanh"
    (φ), state_activation="tanh" (ψ), forget_bias=0.0 (b_ih + b_hh of f at init), layer_norm=False,
    proj_size=0 (P: h = W_hr (o ⊙ ψ(c)), as torch.nn.LSTM)). With R = P or H:
    weight_ih (4H, D), weight_hh (4H, R), bias_ih, bias_hh (4H); weight_hr (R, H) with proj_size;
    weight_ci, weight_cf, weight_co (H,) with peephole; ln_ih, ln_hh (LayerNorm(4H), gain only),
    ln_c (LayerNorm(H)) with layer_norm.
    State (h (B, R), c (B, H)); out_t = h_t (B, R). step's internals: "i", "f", "g", "o" (gates and
    candidate) and "c" (c_t), each (B, H). `fused_scan(x (T, B, D), (h0, c0), mask (T, B) or None)`
    → (y (T, B, R), (h_T, c_T)) runs the whole sequence through the hand-derived BPTT of
    lstm_bptt.py (or torch's kernel for a plain float32 unmasked cell, see `is_torch_lstm`).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        bias: bool = True,
        peephole: bool = False,
        candidate_activation: str = "tanh",
        state_activation: str = "tanh",
        forget_bias: float = 0.0,
        layer_norm: bool = False,
        proj_size: int = 0,
    ):
        super().__init__()
        check_size("LSTMCell", "input_size", input_size)
        check_size("LSTMCell", "hidden_size", hidden_size)
        check_size("LSTMCell", "proj_size", proj_size, minimum=0)
        if not math.isfinite(forget_bias):
            raise ValueError(f"LSTMCell: forget_bias must be a finite number, got {forget_bias}")
        if proj_size < 0 or proj_size >= hidden_size and proj_size != 0:
            raise ValueError(f"proj_size must be 0 or in [1, hidden_size), got {proj_size}")
        H, R = hidden_size, proj_size or hidden_size
        self.input_size, self.hidden_size, self.proj_size = input_size, hidden_size, proj_size
        self.peephole, self.layer_norm, self.forget_bias = peephole, layer_norm, forget_bias
        self.candidate_activation = check_activation(candidate_activation, "candidate_activation")
        self.state_activation = check_activation(state_activation, "state_activation")
        self.weight_ih = nn.Parameter(torch.empty(4 * H, input_size))
        self.weight_hh = nn.Parameter(torch.empty(4 * H, R))
        self.bias_ih = nn.Parameter(torch.empty(4 * H)) if bias else None
        self.bias_hh = nn.Parameter(torch.empty(4 * H)) if bias else None
        self.weight_hr = nn.Parameter(torch.empty(R, H)) if proj_size else None
        if peephole:
            self.weight_ci = nn.Parameter(torch.empty(H))
            self.weight_cf = nn.Parameter(torch.empty(H))
            self.weight_co = nn.Parameter(torch.empty(H))
        if layer_norm:
            # the biases above play LN's β for the gates, so the gate norms have only a gain
            self.ln_ih = nn.LayerNorm(4 * H, bias=False)
            self.ln_hh = nn.LayerNorm(4 * H, bias=False)
            self.ln_c = nn.LayerNorm(H)
        self.reset_parameters()

    @property
    def output_size(self) -> int:
        return self.proj_size or self.hidden_size

    def reset_parameters(self) -> None:
        super().reset_parameters()  # the cell's own tensors; LayerNorms keep gain 1, shift 0
        if self.layer_norm:
            for ln in (self.ln_ih, self.ln_hh, self.ln_c):
                ln.reset_parameters()
        if self.forget_bias and self.bias_ih is not None:
            H = self.hidden_size
            with torch.no_grad():  # b_ih + b_hh = forget_bias on the forget gate
                self.bias_ih[H : 2 * H].fill_(self.forget_bias)
                self.bias_hh[H : 2 * H].zero_()

    def init_state(self, batch: int, device=None, dtype=None) -> tuple[Tensor, Tensor]:
        return (
            self._zeros(batch, self.output_size, device, dtype),
            self._zeros(batch, self.hidden_size, device, dtype),
        )

    def _gates(self, x_t: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        """i, f, g, o and the new cell state c_t, each (B, H), for one step from h (B, R), c (B, H)."""
        wx, uh = F.linear(x_t, self.weight_ih), F.linear(h, self.weight_hh)
        if self.layer_norm:
            wx, uh = self.ln_ih(wx), self.ln_hh(uh)
        pre = wx + uh
        if self.bias_ih is not None:
            pre = pre + self.bias_ih + self.bias_hh
        pi, pf, pg, po = pre.chunk(4, 1)
        if self.peephole:
            pi, pf = pi + self.weight_ci * c, pf + self.weight_cf * c
        i, f = torch.sigmoid(pi), torch.sigmoid(pf)
        g = ACTIVATIONS[self.candidate_activation](pg)
        c_new = f * c + i * g
        if self.peephole:
            po = po + self.weight_co * c_new
        return i, f, g, torch.sigmoid(po), c_new

    internals = ("i", "f", "g", "o", "c")

    def step(self, x_t: Tensor, state: tuple[Tensor, Tensor]):
        """(h_t, (h_t, c_t), {"i", "f", "g", "o": gates (B, H), "c": c_t (B, H)})."""
        self.check_input(x_t, state)
        h, c = state
        i, f, g, o, c = self._gates(x_t, h, c)
        h = o * ACTIVATIONS[self.state_activation](self.ln_c(c) if self.layer_norm else c)
        if self.weight_hr is not None:
            h = F.linear(h, self.weight_hr)
        return h, (h, c), {"i": i, "f": f, "g": g, "o": o, "c": c}

    def carried(self, state: tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        return {"c": state[1]}

    @property
    def is_torch_lstm(self) -> bool:
        """True when this cell computes exactly torch.nn.LSTM (so torch's own kernel may run it)."""
        return (
            not self.peephole
            and not self.layer_norm
            and self.candidate_activation == "tanh"
            and self.state_activation == "tanh"
        )

    def fused_scan(self, x: Tensor, state: tuple[Tensor, Tensor], mask: Tensor | None):
        """Whole sequence with the hand-derived BPTT (see lstm_bptt.py)."""
        from rnnlab.cells.lstm_bptt import lstm_scan

        return lstm_scan(self, x, state, mask)

    def extra_repr(self) -> str:
        opts = [f"{self.input_size}, {self.hidden_size}"]
        for name, default in [
            ("peephole", False), ("candidate_activation", "tanh"), ("state_activation", "tanh"),
            ("forget_bias", 0.0), ("layer_norm", False), ("proj_size", 0),
        ]:
            if getattr(self, name) != default:
                opts.append(f"{name}={getattr(self, name)!r}")
        return ", ".join(opts)
