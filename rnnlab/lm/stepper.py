"""Generation's fast path: a `LanguageModel` advanced one token at a time, its structure checked once.

    stepper = Stepper.of(model)               # None: the model is not one it reproduces exactly
    logits, state = stepper(token, state)     # = model(tensor([[token]]), state) in eval mode

At batch 1 and one step a call, a model call is mostly Python around a small kernel: the token
check, the module calls of the model, `Stacked`, each `Recurrent` and its input, state and dtype
checks, and dropouts that are the identity in eval mode — work that only a fresh input needs.
The stepper does that work once, when it is made, and per token runs only the arithmetic: the
embedding row, each layer's own time loop for T = 1 (`Recurrent._scan`: the cell's compiled or
hand-derived kernel where it has one, else its step, and the layer's step hooks if any), the
residual adds, the decoder. Those are the operations the model call runs, on the same values,
so the logits agree bit for bit and sampling from them draws the same tokens.

`Stepper.of` returns None — the caller then calls the model — for anything whose call it could
not reproduce exactly: another model class or a patched `forward` / `embed`, training mode
(dropout), forward hooks on any module (a hook must see its call), autocast, an encoder that is
not a `Stacked` of `Recurrent` layers (or one `Recurrent`), or a subclass of either that may
behave differently. Token ids are not checked per step: the caller passes ids it sampled from
the model's own logits, all in range.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch.nn.modules import module as torch_module

from rnnlab.cells._state import State
from rnnlab.layers.recurrent import Recurrent, _autocast_on
from rnnlab.layers.stacked import Stacked
from rnnlab.lm.model import LanguageModel

# module hooks torch calls around every module call; a model with any is stepped by its own calls
_GLOBAL_HOOKS = ("_global_forward_hooks", "_global_forward_pre_hooks", "_global_forward_hooks_always_called")


class Stepper:
    """`logits (1, 1, V), state = stepper(token, state)`: one step of `model` for the id `token`
    (an int in [0, V)) from `state` (the model's state, e.g. from a call on the prime), exactly
    what `model(torch.tensor([[token]]), state)` returns in eval mode. Made by `Stepper.of`."""

    def __init__(self, model: LanguageModel):
        self.embed_row = _row_lookup(model.embedding, model.decoder.weight.device)
        encoder = model.rnn
        self.stacked = isinstance(encoder, Stacked)
        layers = encoder.layers if self.stacked else [encoder]
        residual = self.stacked and encoder.residual
        # (layer, whether Stacked adds the layer's input to its output)
        self.layers = [(layer, residual and layer.input_size == layer.output_size) for layer in layers]
        decoder = model.decoder
        self.decode = (lambda h: F.linear(h, decoder.weight, decoder.bias)) if type(decoder) is nn.Linear else decoder.forward

    @classmethod
    def of(cls, model) -> "Stepper | None":
        """The stepper for `model`, or None where stepping it could differ from calling it (see the module docstring)."""
        if type(model) is not LanguageModel or {"forward", "embed"} & vars(model).keys() or model.training:
            return None
        encoder = model.rnn
        if type(encoder) is Stacked:
            layers = list(encoder.layers)
        elif type(encoder) is Recurrent:
            layers = [encoder]
        else:
            return None
        if any(type(layer) is not Recurrent for layer in layers):
            return None
        if any(getattr(torch_module, name, None) for name in _GLOBAL_HOOKS):
            return None
        if any(m._forward_hooks or m._forward_pre_hooks for m in model.modules()):
            return None
        if _autocast_on(model.decoder.weight.device.type):
            return None  # Recurrent casts around its loop under autocast; the model's own call does that
        return cls(model)

    def __call__(self, token: int, state: State) -> tuple[Tensor, State]:
        x = self.embed_row(token)  # (1, 1, D)
        if not self.stacked:
            y, state = self.layers[0][0]._scan(x, state, None)
            return self.decode(y), state
        finals = []
        for (layer, add_input), s in zip(self.layers, state):
            # Recurrent._scan: the layer's own choice of path (fused kernel, steps, step hooks) for
            # x (1, 1, D) in processing order — what its forward runs after the checks; at T = 1
            # reversing the sequence or swapping batch and time changes nothing
            y, s = layer._scan(x, s, None)
            x = y + x if add_input else y  # Stacked's residual connection
            finals.append(s)
        return self.decode(x), tuple(finals)


def _row_lookup(embedding: nn.Module, device) -> Callable[[int], Tensor]:
    """token → its input vector (1, 1, D): the row of an nn.Embedding's matrix (a view holding the
    values its lookup copies; the V views are made once, indexing per token costs more), else the
    module called on the id."""
    if type(embedding) is nn.Embedding and embedding.max_norm is None:  # max_norm renormalises rows in place
        rows = embedding.weight.unsqueeze(1).unsqueeze(1).unbind(0)
        return rows.__getitem__
    return lambda token: embedding(torch.tensor([[token]], device=device))

