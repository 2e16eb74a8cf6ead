"""Deep RNN: layers applied one after another, each reading the previous layer's outputs.

Dropout (training only) is applied between layers, not after the last, as in torch.nn.LSTM.
With `residual=True` every layer whose input and output widths agree adds its input to its
output (Wu et al. 2016), which keeps deep stacks trainable. State is a tuple with one entry per
layer.

`build_encoder` (rnnlab/layers/encoder.py) makes the usual stacks from a cell name or factory
and records how in `spec`; a Stacked built by hand has `spec` None.
"""
from __future__ import annotations

from typing import Sequence

from torch import Tensor, nn
from torch.nn import functional as F

from rnnlab.layers.sequence import zero_padding


class Stacked(nn.Module):
    """x (T, B, input_size) → outputs (T, B, output_size) of the top layer, and a tuple with each
    layer's final state. `directions` and `forward_size` describe the top layer's output, for
    the poolings: 2 when it is a concatenating `Bidirectional`, whose first `forward_size`
    columns are the forward direction's."""

    spec = None  # an EncoderSpec when build_encoder made this stack (see rnnlab/layers/encoder.py)

    def __init__(self, layers: Sequence[nn.Module], dropout: float = 0.0, residual: bool = False):
        super().__init__()
        if not layers:
            raise ValueError("Stacked needs at least one layer")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"Stacked: dropout must be in [0, 1), got {dropout}")
        for k in range(1, len(layers)):
            if layers[k].input_size != layers[k - 1].output_size:
                raise ValueError(
                    f"Stacked: layer {k} expects {layers[k].input_size} inputs but layer {k - 1} "
                    f"outputs {layers[k - 1].output_size}"
                )
        if len({layer.batch_first for layer in layers}) > 1:
            raise ValueError("Stacked: all layers must agree on batch_first")
        self.layers = nn.ModuleList(layers)
        self.dropout, self.residual = dropout, residual

    @property
    def input_size(self) -> int:
        return self.layers[0].input_size

    @property
    def output_size(self) -> int:
        return self.layers[-1].output_size

    @property
    def batch_first(self) -> bool:
        return self.layers[0].batch_first

    @property
    def directions(self) -> int:
        top = self.layers[-1]
        return 2 if getattr(top, "directions", 1) == 2 and getattr(top, "merge", "concat") == "concat" else 1

    @property
    def forward_size(self) -> int:
        top = self.layers[-1]
        return top.forward_size if self.directions == 2 else top.output_size

    def init_state(self, batch: int, device=None, dtype=None) -> tuple:
        return tuple(layer.init_state(batch, device, dtype) for layer in self.layers)

    def forward(self, x: Tensor, state: tuple | None = None, lengths: Tensor | None = None) -> tuple[Tensor, tuple]:
        if state is not None and (not isinstance(state, (tuple, list)) or len(state) != len(self.layers)):
            raise ValueError(f"Stacked: state must be a tuple with one entry per layer ({len(self.layers)})")
        if self.residual and lengths is not None and isinstance(x, Tensor):
            # the residual path adds a layer's input to its output, so padded input must be zeros
            # (the layers themselves never read it), else the padding's garbage reaches the output
            x = zero_padding(x, lengths, self.batch_first, "Stacked")
        finals = []
        for k, layer in enumerate(self.layers):
            if k > 0 and self.dropout:
                x = F.dropout(x, self.dropout, self.training)
            y, s = layer(x, None if state is None else state[k], lengths)
            x = y + x if self.residual and layer.input_size == layer.output_size else y
            finals.append(s)
        return x, tuple(finals)

    def extra_repr(self) -> str:
        return f"dropout={self.dropout}, residual={self.residual}"
