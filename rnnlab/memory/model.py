"""The model of the bit-sequence tasks (copy, repeat copy, associative recall): a recurrent
encoder — an NTM (`Recurrent(NTMCell)`) or, as the baseline, stacked LSTMs — and a linear output
layer giving one logit per output bit and step.

    inputs (T, B, input_width) → encoder → (T, B, W) → linear → logits (T, B, output_width)

`BitSequenceModel.build(input_width, output_width, kind="ntm" | a registry cell name, ...)` makes
the modules from sizes; `config()` is that call (config.json) and `from_config` rebuilds it.
"""
from __future__ import annotations

from torch import Tensor, nn

from rnnlab.cells.registry import CELLS
from rnnlab.errors import ConfigError
from rnnlab.layers.described import Described, described
from rnnlab.layers.encoder import build_encoder
from rnnlab.layers.recurrent import Recurrent
from rnnlab.layers.sequence import check_sequence
from rnnlab.memory.ntm import CONTROLLERS, MEMORY_INITS, NTMCell

KINDS = ("ntm",) + tuple(CELLS)


class BitSequenceModel(Described, nn.Module):
    """inputs (T, B, input_width) floats → logits (T, B, output_width). Modules: `encoder` (a layer:
    (T, B, D) → (T, B, W)) and `out` (nn.Linear W → output_width)."""

    def __init__(self, encoder: nn.Module, head: nn.Linear):
        super().__init__()
        if head.in_features != encoder.output_size:
            raise ConfigError(f"the head reads {head.in_features} features but the encoder gives {encoder.output_size}")
        self.encoder, self.out = encoder, head
        self.input_width, self.output_width = encoder.input_size, head.out_features

    @classmethod
    def build(cls, input_width: int, output_width: int, *, kind: str = "ntm", hidden_size: int = 100,
              num_layers: int = 1, memory_slots: int = 128, memory_width: int = 20, read_heads: int = 1,
              write_heads: int = 1, shift_range: int = 1, controller: str = "lstm",
              memory_init: str = "constant", clip: float = 20.0) -> "BitSequenceModel":
        """kind "ntm": an NTM whose controller (`controller`, `hidden_size` units) drives the memory
        (`memory_slots` × `memory_width`, heads, shifts ±`shift_range`); any cell name: `num_layers`
        layers of that cell with `hidden_size` units (the memory options are then unused)."""
        if kind not in KINDS:
            raise ConfigError(f"unknown model kind {kind!r}; choose one of: {', '.join(KINDS)}")
        if min(input_width, output_width, hidden_size, num_layers) < 1:
            raise ConfigError(f"sizes must be >= 1, got input {input_width}, output {output_width}, hidden "
                              f"{hidden_size}, layers {num_layers}")
        if kind == "ntm":
            if controller not in CONTROLLERS:
                raise ConfigError(f"unknown controller {controller!r}; choose one of: {', '.join(CONTROLLERS)}")
            if memory_init not in MEMORY_INITS:
                raise ConfigError(f"memory_init must be one of {', '.join(MEMORY_INITS)}, got {memory_init!r}")
            if num_layers != 1:
                raise ConfigError("an NTM has one controller layer; --layers applies to the baseline cells")
            try:
                cell = NTMCell(input_width, hidden_size, memory_slots, memory_width, read_heads, write_heads,
                               shift_range, controller=controller, memory_init=memory_init, clip=clip)
            except (TypeError, ValueError) as e:
                raise ConfigError(str(e)) from None
            encoder = Recurrent(cell)
        else:
            encoder = build_encoder(kind, input_width, hidden_size, num_layers)
        model = cls(encoder, nn.Linear(encoder.output_size, output_width))
        return described(model, dict(input_width=input_width, output_width=output_width, kind=kind,
                                     hidden_size=hidden_size, num_layers=num_layers, memory_slots=memory_slots,
                                     memory_width=memory_width, read_heads=read_heads, write_heads=write_heads,
                                     shift_range=shift_range, controller=controller, memory_init=memory_init,
                                     clip=clip))

    def forward(self, inputs: Tensor) -> Tensor:
        check_sequence(inputs, self.input_width, type(self).__name__)
        h, _ = self.encoder(inputs)
        return self.out(h)
