"""A cell without recurrence: each step depends on its own input only. Unrolled by `Recurrent`
like any cell, it is the baseline that shows what recurrence adds (a tagger that tags each word
from its own features)."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnlab.cells.base import RecurrentCell, check_size


class FeedForwardCell(RecurrentCell):
    """No recurrence: out_t = tanh(W x_t + b) (B, hidden_size); the state is empty (B, 0) and passes
    through. Parameters `linear.weight` (hidden_size, input_size), `linear.bias` (hidden_size);
    `fused_scan` computes all steps at once."""

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.input_size = check_size("FeedForwardCell", "input_size", input_size)
        self.hidden_size = check_size("FeedForwardCell", "hidden_size", hidden_size)
        self.linear = nn.Linear(input_size, hidden_size)

    @property
    def state_size(self) -> int:
        return 0

    def init_state(self, batch: int, device=None, dtype=None) -> Tensor:
        return self._zeros(batch, 0, device, dtype)

    def forward(self, x_t: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        self.check_input(x_t, state)
        return torch.tanh(self.linear(x_t)), state

    def fused_scan(self, x: Tensor, state: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
        """All steps at once (no step depends on another); padded steps output zeros."""
        out = torch.tanh(self.linear(x))
        # selection, not multiplication: 0 * NaN would let a garbage padded step through
        return (out if mask is None else torch.where(mask.unsqueeze(-1) != 0, out, 0.0)), state
