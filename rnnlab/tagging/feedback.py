"""One step of a Jordan-feedback tagger as a cell, so that running free is `Recurrent(cell)(x)`.

    state = (every encoder layer's state, y_{t-1})          y_{t-1}: (B, num_tags), zeros at t = 0
    h_t   = encoder layers stepped on [x_t; y_{t-1}]         (dropout between layers, residual as the encoder)
    z_t   = tag_head(dropout(h_t))                           tag logits
    y_t   = one_hot(argmax z_t)  (mode "greedy")  or  softmax(z_t)  (mode "softmax")
    out_t = [h_t; z_t]                                       (B, W + num_tags)

The cell steps the encoder's own layer cells and head, so it computes what one pass of the encoder
over [x; y_{·-1}] computes when fed the same y — which is why free running equals teacher forcing
on the tags it predicted. `Recurrent` keeps the state (feedback included) and zeroes the output at
padded steps.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnlab.cells.base import RecurrentCell
from rnnlab.layers.stacked import Stacked

FEEDBACK_MODES = ("greedy", "softmax")


class TagFeedbackCell(RecurrentCell):
    """x_t (B, D) word features → out_t (B, W + num_tags) = [top output h_t; tag logits z_t].

    `encoder`: a `Stacked` of left-to-right `Recurrent` layers reading D + num_tags features;
    `head`: nn.Linear W → num_tags. Built for one run (the tagger makes it in `forward`), so it is
    not part of any state_dict: it only borrows the tagger's modules."""

    def __init__(self, encoder: Stacked, head: nn.Linear, mode: str, dropout: float = 0.0):
        super().__init__()
        if mode not in FEEDBACK_MODES:
            raise ValueError(f"TagFeedbackCell: mode must be one of {', '.join(FEEDBACK_MODES)}, got {mode!r}")
        self.encoder, self.head, self.mode, self.dropout = encoder, head, mode, dropout
        self.num_tags = head.out_features
        self.input_size = encoder.input_size - self.num_tags
        self.hidden_size = encoder.output_size

    @property
    def output_size(self) -> int:
        return self.hidden_size + self.num_tags

    def init_state(self, batch: int, device=None, dtype=None) -> tuple:
        p = self.head.weight
        device, dtype = device or p.device, dtype or p.dtype
        layers = tuple(layer.cell.init_state(batch, device, dtype) for layer in self.encoder.layers)
        return layers, torch.zeros(batch, self.num_tags, device=device, dtype=dtype)

    def forward(self, x_t: Tensor, state: tuple) -> tuple[Tensor, tuple]:
        states, feedback = state
        h = torch.cat([x_t, feedback], dim=-1)
        new = []
        for k, layer in enumerate(self.encoder.layers):  # as Stacked.forward does, one step at a time
            if k and self.encoder.dropout:
                h = F.dropout(h, self.encoder.dropout, self.training)
            out, s = layer.cell(h, states[k])
            h = out + h if self.encoder.residual and layer.input_size == layer.output_size else out
            new.append(s)
        logits = self.head(F.dropout(h, self.dropout, self.training))
        if self.mode == "softmax":
            feedback = torch.softmax(logits, dim=-1)
        else:
            feedback = F.one_hot(logits.argmax(-1), self.num_tags).to(logits.dtype)
        return torch.cat([h, logits], dim=-1), (tuple(new), feedback)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}, num_tags={self.num_tags}"
