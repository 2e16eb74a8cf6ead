"""Time-delay neural network (TDNN) layers: the same weights slide over time, each unit reading a
window of frames at fixed offsets (Waibel et al. 1989; the modern form with per-layer offset sets
and sub-sampling is Peddinti et al. 2015).

    layer = TDNNLayer(40, 64, offsets=(-2, 0, 2), stride=1)        # a dilated 3-frame window
    y, out_lengths = layer(x, lengths)            # x (T, B, 40) → y (T', B, 64), T' = ⌈T / stride⌉
    stack = TDNN.build(40, [(64, (-1, 0, 1)), (64, (-2, 0, 2)), (64, (-3, 0, 3))])
    y, out_lengths = stack(x, lengths)

Output frame t' is centred on input frame c = t'·stride and computes

    y_{t'} = f(W [x_{c+o_1}; x_{c+o_2}; …; x_{c+o_K}] + b)          (1)

with x_{c+o} = 0 where c+o lies outside the sequence's real frames [0, lengths[b]) — "same"
padding at both ends of *each* sequence, so a sequence gets the same outputs alone as in a padded
batch. Padded input frames are never read: the window *selects* zeros instead of multiplying by a
mask, so NaN in padding reaches no value or gradient (the `Recurrent` rule). Output frames past
⌈lengths[b] / stride⌉ are exactly 0.

A TDNN has no state; in the layer contract's second slot it returns the output lengths, which a
pooling over the top layer needs after sub-sampling. Per-frame outputs of every layer are kept in
`last_frames` while `record_frames` is set, so an explorer can show the units over time.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnlab.cells.activations import ACTIVATIONS, check_activation
from rnnlab.errors import ConfigError
from rnnlab.layers.sequence import check_sequence, lengths_or_full, length_mask


def check_offsets(offsets: Sequence[int], where: str = "TDNN") -> tuple[int, ...]:
    """Offsets as a tuple of distinct ints in increasing order (at least one); ConfigError otherwise."""
    if isinstance(offsets, (str, bytes)) or not hasattr(offsets, "__iter__"):
        raise ConfigError(f"{where}: offsets must be a sequence of ints, got {offsets!r}")
    offsets = tuple(offsets)
    if not offsets or any(isinstance(o, bool) or not isinstance(o, int) for o in offsets):
        raise ConfigError(f"{where}: offsets must be a non-empty sequence of ints, got {offsets!r}")
    if len(set(offsets)) != len(offsets) or list(offsets) != sorted(offsets):
        raise ConfigError(f"{where}: offsets must be distinct and increasing, got {offsets!r}")
    return offsets


def out_lengths(lengths: Tensor, stride: int) -> Tensor:
    """⌈lengths / stride⌉: the output frames a sequence of `lengths` frames has after sub-sampling."""
    return (lengths + stride - 1) // stride


class TDNNLayer(nn.Module):
    """One TDNN layer, equation (1) of the module docstring.

    TDNNLayer(input_size D, output_size O, offsets=(-1, 0, 1), *, stride=1, activation="relu").
    `linear` maps the K·D stacked frames (offset order) to O units. forward(x (T, B, D),
    lengths (B,) | None) → (y (T', B, O), out_lengths (B,)), T' = ⌈T / stride⌉.
    """

    def __init__(self, input_size: int, output_size: int, offsets: Sequence[int] = (-1, 0, 1), *,
                 stride: int = 1, activation: str = "relu"):
        super().__init__()
        if isinstance(input_size, bool) or isinstance(output_size, bool) or min(input_size, output_size) < 1:
            raise ConfigError(f"TDNNLayer: sizes must be >= 1, got input {input_size}, output {output_size}")
        if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
            raise ConfigError(f"TDNNLayer: stride must be an int >= 1, got {stride!r}")
        self.input_size, self.output_size, self.stride = input_size, output_size, stride
        self.offsets = check_offsets(offsets, "TDNNLayer")
        self.activation = check_activation(activation)
        self.linear = nn.Linear(len(self.offsets) * input_size, output_size)
        self.register_buffer("_offsets", torch.tensor(self.offsets), persistent=False)

    @property
    def context(self) -> tuple[int, int]:
        """(left, right): how many input frames before and after the centre a unit sees."""
        return -min(0, self.offsets[0]), max(0, self.offsets[-1])

    def init_state(self, batch: int, device=None, dtype=None) -> None:
        return None  # nothing is carried from one call to the next

    def windows(self, x: Tensor, lengths: Tensor) -> Tensor:
        """The stacked input frames of every output frame: (T', B, K·D), zeros outside each sequence."""
        T, B, D = x.shape
        centres = torch.arange(0, T, self.stride, device=x.device)  # c = t'·stride, (T',)
        index = centres.unsqueeze(1) + self._offsets.to(x.device)  # c + o_k, (T', K)
        inside = (index >= 0).unsqueeze(-1) & (index.unsqueeze(-1) < lengths)  # (T', K, B): a real frame
        frames = x[index.clamp(0, T - 1)]  # (T', K, B, D); clamped rows are discarded just below
        frames = torch.where(inside.unsqueeze(-1), frames, torch.zeros((), dtype=x.dtype, device=x.device))
        return frames.permute(0, 2, 1, 3).reshape(len(centres), B, -1)  # offset-major per frame, as W expects

    def forward(self, x: Tensor, lengths: Tensor | Sequence[int] | None = None) -> tuple[Tensor, Tensor]:
        check_sequence(x, self.input_size, "TDNNLayer")
        T, B = x.shape[:2]
        lengths = lengths_or_full(lengths, T, B, x.device, "TDNNLayer")
        y = ACTIVATIONS[self.activation](self.linear(self.windows(x, lengths)))  # (1)
        new_lengths = out_lengths(lengths, self.stride)
        real = length_mask(new_lengths, y.shape[0]).unsqueeze(-1)
        return torch.where(real, y, torch.zeros((), dtype=y.dtype, device=y.device)), new_lengths

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.output_size}, offsets={self.offsets}, stride={self.stride}, "
                f"activation={self.activation!r}")


class TDNN(nn.Module):
    """TDNN layers one after another, with dropout between them (training only).

    forward(x (T, B, D), state=None, lengths=None) → (y (T'', B, output_size), out_lengths): the
    layer contract, the second value being the top layer's lengths (a TDNN has no state).
    While `record_frames` is True, `last_frames` holds each layer's (T', B, units) outputs of the
    latest call (detached), keyed "layers.<i>", for recording.
    """

    def __init__(self, layers: Sequence[TDNNLayer], *, dropout: float = 0.0):
        super().__init__()
        if not layers:
            raise ConfigError("TDNN needs at least one layer")
        for below, above in zip(layers, layers[1:]):
            if below.output_size != above.input_size:
                raise ConfigError(f"TDNN: a layer gives {below.output_size} units but the next reads {above.input_size}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {dropout}")
        self.layers, self.dropout = nn.ModuleList(layers), dropout
        self.input_size, self.output_size = layers[0].input_size, layers[-1].output_size
        self.record_frames, self.last_frames = False, {}

    @classmethod
    def build(cls, input_size: int, layers: Sequence[tuple[int, Sequence[int]] | tuple[int, Sequence[int], int]], *,
              activation: str = "relu", dropout: float = 0.0) -> "TDNN":
        """Layers from (units, offsets[, stride]) triples, each reading the one below."""
        made, width = [], input_size
        for spec in layers:
            units, offsets, stride = (*spec, 1) if len(spec) == 2 else spec
            made.append(TDNNLayer(width, units, offsets, stride=stride, activation=activation))
            width = units
        return cls(made, dropout=dropout)

    @property
    def stride(self) -> int:
        """Input frames per output frame of the top layer."""
        total = 1
        for layer in self.layers:
            total *= layer.stride
        return total

    def init_state(self, batch: int, device=None, dtype=None) -> None:
        return None

    def forward(self, x: Tensor, state=None, lengths: Tensor | Sequence[int] | None = None) -> tuple[Tensor, Tensor]:
        if state is not None:
            raise ConfigError("a TDNN has no state to start from; pass state=None")
        self.last_frames = {}
        for i, layer in enumerate(self.layers):
            if i:
                x = F.dropout(x, self.dropout, self.training)  # zeros at padding stay zeros
            x, lengths = layer(x, lengths)
            if self.record_frames:
                self.last_frames[f"layers.{i}"] = x.detach()
        return x, lengths

    def extra_repr(self) -> str:
        return f"dropout={self.dropout}" if self.dropout else ""
