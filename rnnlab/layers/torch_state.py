"""torch.nn's parameter names on the drop-ins (torch_compat.py), and `from_torch`.

A drop-in owns its cells' torch-shaped parameters under torch.nn's names (`weight_ih_l0`,
`bias_hh_l1_reverse`, `weight_hr_l0`, … in torch's order), so `named_parameters()`, `state_dict()`,
`torch.nn.utils.weight_norm` / parametrizations and torch.nn checkpoints see exactly what they
would on torch.nn. The cells keep using their own names: `adopt` moves each such Parameter from
the cell to the drop-in (so nothing is listed twice), and `bind` hands the drop-in's current
values back to the cells' attributes before every forward (a parametrization recomputes them;
`.to()` may replace them). Options torch.nn lacks (peepholes, LayerNorms) stay in their cells,
under the drop-in's `stack.…` names.
"""
from __future__ import annotations

import re

import torch
from torch import nn

from rnnlab.cells.elman import ElmanCell
from rnnlab.cells.gru import GRUCell
from rnnlab.cells.lstm import LSTMCell

CELL_PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")  # torch's order within a layer


def suffix(layer: int, reverse: bool) -> str:
    """torch.nn's name suffix of one layer and direction: '_l0', '_l0_reverse'."""
    return f"_l{layer}" + ("_reverse" if reverse else "")


def adopt(owner: nn.Module, cell: nn.Module, end: str) -> list[str]:
    """Move `cell`'s torch-named Parameters to `owner` as name + end; → the names registered."""
    names = []
    for name in CELL_PARAMS:
        if name not in cell._parameters:
            continue
        p = cell._parameters.pop(name)
        cell.__dict__[name] = p  # the cell reads it as before; `bind` refreshes it
        if p is not None:
            owner.register_parameter(name + end, p)
            names.append(name + end)
    return names


def bind(owner: nn.Module, cells) -> None:
    """Give every cell the owner's current tensors (after parametrizations, `.to()`, assignment)."""
    for end, cell in cells:
        for name in CELL_PARAMS:
            if name in cell.__dict__:
                cell.__dict__[name] = getattr(owner, name + end, None)


_OLD_KEY = re.compile(r"stack\.layers\.(\d+)\.(cell|forward_layer\.cell|backward_layer\.cell)\.(\w+)$")


def upgrade_old_keys(module, state_dict, prefix, *args) -> None:
    """load_state_dict pre-hook: rnnlab ≤ 0.1 saved a drop-in's weights under its cells' names
    (`stack.layers.0.cell.weight_ih`, `stack.layers.0.backward_layer.cell.bias_hh`); rename them."""
    for key in [k for k in state_dict if k.startswith(prefix)]:
        match = _OLD_KEY.match(key[len(prefix):])
        if match and match.group(3) in CELL_PARAMS:
            layer, where, name = match.groups()
            state_dict[prefix + name + suffix(int(layer), where.startswith("backward"))] = state_dict.pop(key)


def from_torch(module: nn.Module, **options) -> nn.Module:
    """An rnnlab module computing the same function as a torch.nn RNN/LSTM/GRU or its cell.

    Weights are copied (not shared). `options` go to the rnnlab constructor (e.g. fused=False).
    """
    from rnnlab.layers.torch_compat import GRU, LSTM, RNN

    p = next(module.parameters())
    if isinstance(module, (nn.RNNCell, nn.LSTMCell, nn.GRUCell)):
        if isinstance(module, nn.RNNCell):
            cell = ElmanCell(module.input_size, module.hidden_size, activation=module.nonlinearity, bias=module.bias, **options)
        else:
            cls = LSTMCell if isinstance(module, nn.LSTMCell) else GRUCell
            cell = cls(module.input_size, module.hidden_size, bias=module.bias, **options)
        cell.to(device=p.device, dtype=p.dtype).load_state_dict(module.state_dict())
        return cell
    if not isinstance(module, (nn.RNN, nn.LSTM, nn.GRU)):
        raise TypeError(f"from_torch: expected a torch.nn RNN, LSTM, GRU or their cells, got {type(module).__name__}")
    kwargs = dict(
        num_layers=module.num_layers, bias=module.bias, batch_first=module.batch_first,
        dropout=module.dropout, bidirectional=module.bidirectional, device=p.device, dtype=p.dtype, **options,
    )
    if isinstance(module, nn.LSTM):
        ours = LSTM(module.input_size, module.hidden_size, proj_size=module.proj_size, **kwargs)
    elif isinstance(module, nn.GRU):
        ours = GRU(module.input_size, module.hidden_size, **kwargs)
    else:
        ours = RNN(module.input_size, module.hidden_size, nonlinearity=module.nonlinearity, **kwargs)
    with torch.no_grad():
        for name in ours._flat_weights_names:
            getattr(ours, name).copy_(getattr(module, name))
    ours.train(module.training)
    return ours
