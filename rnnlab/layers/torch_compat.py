"""Drop-in equivalents of torch.nn.RNN / LSTM / GRU built from rnnlab layers.

    lstm = rnnlab.LSTM(10, 20, num_layers=2, bidirectional=True, peephole=True)
    output, (h_n, c_n) = lstm(x, (h_0, c_0))           # shapes exactly as torch.nn.LSTM

Same arguments, input layouts (time-major, batch_first, unbatched 2-D, PackedSequence) and
state layout ((num_layers · directions, B, H) tensors) as torch.nn, plus `lengths=` for padded
batches and any cell option (`peephole=`, `layer_norm=`, `reset_after=`, `activation=`, …)
passed through to every cell. Inside it is a `Stacked` of `Recurrent` / `Bidirectional` layers;
`from_torch` copies a torch.nn module's weights into the matching rnnlab module.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from rnnlab.cells.elman import ElmanCell
from rnnlab.cells.gru import GRUCell
from rnnlab.cells.lstm import LSTMCell
from rnnlab.layers.bidirectional import Bidirectional
from rnnlab.layers.recurrent import Recurrent
from rnnlab.layers.stacked import Stacked


class TorchStyleRNN(nn.Module):
    """Base of the torch.nn drop-ins `RNN`, `LSTM`, `GRU`: torch.nn's constructor arguments,
    input forms ((T, B, D), batch_first, unbatched (T, D), PackedSequence) and state layout
    ((num_layers · directions, B, H) tensors, (h, c) for the LSTM), run by rnnlab's `Stacked`
    of `Recurrent` layers. Returns (output, h_n) like torch.nn."""
    cell_class: type = None  # set by subclasses
    state_parts = 1  # tensors per layer state: (h,) or (h, c)

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        fused: bool | str = "auto",
        **cell_options,
    ):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.batch_first, self.bidirectional = batch_first, bidirectional
        self.num_directions = 2 if bidirectional else 1
        layers, width = [], input_size
        for _ in range(num_layers):
            make = lambda reverse: Recurrent(  # noqa: E731
                self.cell_class(width, hidden_size, bias=bias, **cell_options), reverse=reverse, fused=fused
            )
            layer = Bidirectional(make(False), make(True)) if bidirectional else make(False)
            layers.append(layer)
            width = layer.output_size
        self.stack = Stacked(layers, dropout=dropout)

    def cells(self) -> list[tuple[str, nn.Module]]:
        """(torch parameter suffix, cell) for every layer and direction: ('_l0', …), ('_l0_reverse', …)."""
        out = []
        for k, layer in enumerate(self.stack.layers):
            if self.bidirectional:
                out += [(f"_l{k}", layer.forward_layer.cell), (f"_l{k}_reverse", layer.backward_layer.cell)]
            else:
                out.append((f"_l{k}", layer.cell))
        return out

    # torch's state layout: each part stacked as (num_layers * num_directions, B, ·)
    def _split_state(self, hx, batch: int, ref: Tensor):
        parts = (hx,) if self.state_parts == 1 else hx
        if not isinstance(parts, (tuple, list)) or len(parts) != self.state_parts:
            raise ValueError(f"{type(self).__name__}: hx must be {'a tensor' if self.state_parts == 1 else 'a pair (h_0, c_0)'}")
        expected = self._join_state(self.stack.init_state(batch, ref.device, ref.dtype))
        expected = (expected,) if self.state_parts == 1 else expected
        for name, got, want in zip("hc", parts, expected):
            if got.shape != want.shape:
                raise ValueError(f"{type(self).__name__}: {name}_0 must have shape {tuple(want.shape)}, got {tuple(got.shape)}")
        per_cell = [tuple(p[i] for p in parts) for i in range(len(self.cells()))]
        per_cell = [c[0] if self.state_parts == 1 else c for c in per_cell]
        if self.bidirectional:
            return tuple((per_cell[2 * k], per_cell[2 * k + 1]) for k in range(self.num_layers))
        return tuple(per_cell)

    def _join_state(self, state):
        per_cell = [s for layer in state for s in layer] if self.bidirectional else list(state)
        if self.state_parts == 1:
            return torch.stack(per_cell)
        return tuple(torch.stack([s[i] for s in per_cell]) for i in range(self.state_parts))

    def forward(self, input, hx=None, lengths: Tensor | None = None):
        packed = isinstance(input, PackedSequence)
        if packed:
            if lengths is not None:
                raise ValueError("give lengths either through the PackedSequence or as lengths=, not both")
            input, lengths = pad_packed_sequence(input, batch_first=self.batch_first)
        unbatched = isinstance(input, Tensor) and input.dim() == 2
        if unbatched:
            input = input.unsqueeze(0 if self.batch_first else 1)
            hx = None if hx is None else (hx.unsqueeze(1) if isinstance(hx, Tensor) else tuple(h.unsqueeze(1) for h in hx))
        if isinstance(input, Tensor) and input.dim() != 3:
            raise ValueError(f"{type(self).__name__}: input must be 2-D (unbatched) or 3-D, got shape {tuple(input.shape)}")
        x = input.transpose(0, 1) if self.batch_first else input
        state = None if hx is None else self._split_state(hx, x.shape[1], x)
        y, state = self.stack(x, state, lengths)
        h_n = self._join_state(state)
        y = y.transpose(0, 1) if self.batch_first else y
        if packed:
            y = pack_padded_sequence(y, lengths.cpu(), batch_first=self.batch_first, enforce_sorted=False)
        if unbatched:
            y = y.squeeze(0 if self.batch_first else 1)
            h_n = h_n.squeeze(1) if isinstance(h_n, Tensor) else tuple(h.squeeze(1) for h in h_n)
        return y, h_n

    def extra_repr(self) -> str:
        return (
            f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
            f"batch_first={self.batch_first}, bidirectional={self.bidirectional}"
        )


class RNN(TorchStyleRNN):
    """torch.nn.RNN equivalent made of `ElmanCell`s; `nonlinearity` is torch's name for `activation`."""

    cell_class = ElmanCell

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh", **kwargs):
        if "activation" in kwargs:
            raise TypeError("RNN takes torch's `nonlinearity=`, not `activation=`")
        super().__init__(input_size, hidden_size, num_layers, activation=nonlinearity, **kwargs)


class LSTM(TorchStyleRNN):
    """torch.nn.LSTM equivalent made of `LSTMCell`s; returns (output, (h_n, c_n))."""

    cell_class = LSTMCell
    state_parts = 2


class GRU(TorchStyleRNN):
    """torch.nn.GRU equivalent made of `GRUCell`s (reset_after=True is torch's variant)."""

    cell_class = GRUCell


_CELL_PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")


def from_torch(module: nn.Module, **options) -> nn.Module:
    """An rnnlab module computing the same function as a torch.nn RNN/LSTM/GRU or its cell.

    Weights are copied (not shared). `options` go to the rnnlab constructor (e.g. fused=False).
    """
    p = next(module.parameters())
    if isinstance(module, (nn.RNNCell, nn.LSTMCell, nn.GRUCell)):
        if isinstance(module, nn.RNNCell):
            cell = ElmanCell(module.input_size, module.hidden_size, activation=module.nonlinearity, bias=module.bias, **options)
        else:
            cls = LSTMCell if isinstance(module, nn.LSTMCell) else GRUCell
            cell = cls(module.input_size, module.hidden_size, bias=module.bias, **options)
        _copy(cell, module, "")
        return cell.to(device=p.device, dtype=p.dtype)
    if not isinstance(module, (nn.RNN, nn.LSTM, nn.GRU)):
        raise TypeError(f"from_torch: expected a torch.nn RNN, LSTM, GRU or their cells, got {type(module).__name__}")
    kwargs = dict(
        num_layers=module.num_layers, bias=module.bias, batch_first=module.batch_first,
        dropout=module.dropout, bidirectional=module.bidirectional, **options,
    )
    if isinstance(module, nn.LSTM):
        ours = LSTM(module.input_size, module.hidden_size, proj_size=module.proj_size, **kwargs)
    elif isinstance(module, nn.GRU):
        ours = GRU(module.input_size, module.hidden_size, **kwargs)
    else:
        ours = RNN(module.input_size, module.hidden_size, nonlinearity=module.nonlinearity, **kwargs)
    for suffix, cell in ours.cells():
        _copy(cell, module, suffix)
    return ours.to(device=p.device, dtype=p.dtype)


def _copy(cell: nn.Module, module: nn.Module, suffix: str) -> None:
    with torch.no_grad():
        for name in _CELL_PARAMS:
            mine, theirs = getattr(cell, name, None), getattr(module, name + suffix, None)
            if (mine is None) != (theirs is None):
                raise ValueError(f"from_torch: parameter {name + suffix} exists on only one side")
            if mine is not None:
                mine.copy_(theirs)
