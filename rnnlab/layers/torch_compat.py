"""Drop-in equivalents of torch.nn.RNN / LSTM / GRU built from rnnlab layers.

    lstm = rnnlab.LSTM(10, 20, num_layers=2, bidirectional=True, peephole=True)
    output, (h_n, c_n) = lstm(x, (h_0, c_0))           # shapes exactly as torch.nn.LSTM

Same constructor arguments (device=, dtype= included) and checks, input layouts (time-major,
batch_first, unbatched 2-D, PackedSequence, an empty batch), state layout ((num_layers ·
directions, B, H) tensors), attributes (`mode`, `proj_size`, `dropout`, …), parameter names and
state_dict (`weight_ih_l0`, …: see torch_state.py) and exception types (torch_args.py) as
torch.nn, plus `lengths=` for padded batches and any cell option (`peephole=`, `layer_norm=`,
`reset_after=`, `activation=`, …) passed through to every cell. Inside it is a `Stacked` of
`Recurrent` / `Bidirectional` layers; `from_torch` copies a torch.nn module's weights.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from rnnlab.cells.elman import ElmanCell
from rnnlab.cells.gru import GRUCell
from rnnlab.cells.lstm import LSTMCell
from rnnlab.layers import torch_args, torch_state
from rnnlab.layers.bidirectional import Bidirectional
from rnnlab.layers.recurrent import Recurrent
from rnnlab.layers.stacked import Stacked
from rnnlab.layers.torch_state import from_torch  # noqa: F401  (re-exported)


class TorchStyleRNN(nn.Module):
    """Base of the torch.nn drop-ins `RNN`, `LSTM`, `GRU`: torch.nn's constructor arguments,
    input forms ((T, B, D), batch_first, unbatched (T, D), PackedSequence) and state layout
    ((num_layers · directions, B, H) tensors, (h, c) for the LSTM), run by rnnlab's `Stacked`
    of `Recurrent` layers. Returns (output, h_n) like torch.nn."""

    cell_class: type = None  # set by subclasses
    state_parts = 1  # tensors per layer state: (h,) or (h, c)
    mode = ""  # torch.nn's mode string, set by subclasses

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
        *,
        fused: bool | str = "auto",
        **cell_options,
    ):
        super().__init__()
        torch_args.check_constructor(input_size, hidden_size, num_layers, bias, batch_first, dropout, proj_size)
        if proj_size and self.mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.bidirectional = bias, batch_first, bool(bidirectional)
        self.dropout, self.proj_size = float(dropout), proj_size  # dropout may be reassigned, as on torch.nn
        self.num_directions = 2 if bidirectional else 1
        if proj_size:
            cell_options["proj_size"] = proj_size
        self._flat_weights_names: list[str] = []
        layers, width = [], input_size
        for k in range(num_layers):
            rnns = []
            for reverse in (False, True)[: self.num_directions]:
                cell = self.cell_class(width, hidden_size, bias=bias, **cell_options)
                self._flat_weights_names += torch_state.adopt(self, cell, torch_state.suffix(k, reverse))
                rnns.append(Recurrent(cell, reverse=reverse, fused=fused))
            layer = Bidirectional(*rnns) if bidirectional else rnns[0]
            layers.append(layer)
            width = layer.output_size
        self.stack = Stacked(layers)  # dropout between layers: self.dropout, read at every call
        self.register_load_state_dict_pre_hook(torch_state.upgrade_old_keys)
        if device is not None or dtype is not None:
            self.to(device=device, dtype=dtype)

    def cells(self) -> list[tuple[str, nn.Module]]:
        """(torch parameter suffix, cell) for every layer and direction: ('_l0', …), ('_l0_reverse', …)."""
        out = []
        for k, layer in enumerate(self.stack.layers):
            rnns = (layer.forward_layer, layer.backward_layer) if self.bidirectional else (layer,)
            out += [(torch_state.suffix(k, rnn.reverse), rnn.cell) for rnn in rnns]
        return out

    def reset_parameters(self) -> None:
        """torch.nn's initialisation, U(-1/√H, 1/√H), for the torch-named weights; each cell's own
        for its options (LayerNorm gains 1, forget_bias)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for name in self._flat_weights_names:
            nn.init.uniform_(getattr(self, name), -bound, bound)
        torch_state.bind(self, self.cells())
        for _, cell in self.cells():
            cell.reset_parameters()

    @property
    def _flat_weights(self) -> list[Tensor]:
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self) -> list[list[Tensor]]:
        """torch.nn's per-layer-and-direction lists of weights."""
        return [[getattr(self, n + end) for n in torch_state.CELL_PARAMS if hasattr(self, n + end)]
                for end, _ in self.cells()]

    def flatten_parameters(self) -> None:
        """No-op: rnnlab keeps no flat cuDNN weight buffer (torch.nn's call is accepted for compatibility)."""

    # torch's state layout: each part stacked as (num_layers * num_directions, B, ·)
    def _split_state(self, hx, batch: int, unbatched: bool):
        name = type(self).__name__
        parts = (hx,) if self.state_parts == 1 else hx
        if not isinstance(parts, (tuple, list)) or len(parts) != self.state_parts:
            raise torch_args.TorchInputError(f"{name}: hx must be {'a tensor' if self.state_parts == 1 else 'a pair (h_0, c_0)'}")
        widths = (self.proj_size or self.hidden_size, self.hidden_size)
        for part, got, width in zip(("h_0", "c_0"), parts, widths):
            want = (self.num_layers * self.num_directions, *(() if unbatched else (batch,)), width)
            torch_args.check_state(name, part, got, want, unbatched)
        if unbatched:
            parts = [p.unsqueeze(1) for p in parts]
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
        name = type(self).__name__
        packed = isinstance(input, PackedSequence)
        if packed:
            if lengths is not None:
                raise ValueError("give lengths either through the PackedSequence or as lengths=, not both")
            input, lengths = pad_packed_sequence(input, batch_first=self.batch_first)
        p = self._flat_weights[0]
        torch_args.check_input(name, input, self.input_size, p.dtype)
        unbatched = input.dim() == 2
        x = input.unsqueeze(1) if unbatched else (input.transpose(0, 1) if self.batch_first else input)
        state = None if hx is None else self._split_state(hx, x.shape[1], unbatched)
        torch_state.bind(self, self.cells())
        if x.shape[1] == 0:
            y, h_n = self._empty_batch(x)
        else:
            self.stack.dropout = self.dropout
            y, state = self.stack(x, state, lengths)
            h_n = self._join_state(state)
        y = y.transpose(0, 1) if self.batch_first and not unbatched else y
        if packed:
            y = pack_padded_sequence(y, lengths.cpu(), batch_first=self.batch_first, enforce_sorted=False)
        if unbatched:
            y = y.squeeze(1)
            h_n = h_n.squeeze(1) if isinstance(h_n, Tensor) else tuple(h.squeeze(1) for h in h_n)
        return y, h_n

    def _empty_batch(self, x: Tensor):
        """torch.nn's answer for a batch of 0 sequences: empty outputs and states, still in the graph
        of the weights as torch.nn's are (so .backward() on a loss over them works)."""
        zero = sum(p.sum() for p in self._flat_weights) * 0
        T, L = x.shape[0], self.num_layers * self.num_directions
        out = self.num_directions * (self.proj_size or self.hidden_size)
        y = x.new_zeros(T, 0, out) + zero
        parts = [x.new_zeros(L, 0, self.proj_size or self.hidden_size) + zero, x.new_zeros(L, 0, self.hidden_size) + zero]
        return y, parts[0] if self.state_parts == 1 else tuple(parts)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        for name, default in [("proj_size", 0), ("num_layers", 1), ("bias", True), ("batch_first", False),
                              ("dropout", 0.0), ("bidirectional", False)]:
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        return s


class RNN(TorchStyleRNN):
    """torch.nn.RNN equivalent made of `ElmanCell`s; `nonlinearity` is torch's name for `activation`
    ("tanh", "relu", and rnnlab's "sigmoid" / "identity")."""

    cell_class = ElmanCell

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh", *args, **kwargs):
        if "activation" in kwargs:
            raise TypeError("RNN takes torch's `nonlinearity=`, not `activation=`")
        self.nonlinearity = nonlinearity
        self.mode = "RNN_" + str(nonlinearity).upper()
        super().__init__(input_size, hidden_size, num_layers, *args, activation=nonlinearity, **kwargs)


class LSTM(TorchStyleRNN):
    """torch.nn.LSTM equivalent made of `LSTMCell`s; returns (output, (h_n, c_n))."""

    cell_class = LSTMCell
    state_parts = 2
    mode = "LSTM"


class GRU(TorchStyleRNN):
    """torch.nn.GRU equivalent made of `GRUCell`s (reset_after=True is torch's variant)."""

    cell_class = GRUCell
    mode = "GRU"
