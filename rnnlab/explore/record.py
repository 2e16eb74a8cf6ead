"""Record what every unit of a recurrent network does: hidden and cell states and gates, per step.

    with Recorder(model) as rec:
        model(x)
    rec.values["rnn.layers.0"]["c"]        # (T, B, units), float32 on CPU, input order

`Recorder` hooks every `rnnlab.layers.Recurrent` inside the model while the `with` block lasts
(the hooks are removed on exit, so training never pays for them). After a layer has run, its hook
runs the layer's cell again step by step under `torch.no_grad()` on the same input, initial state
and lengths, and keeps per step:

    h                  the hidden vector, `hidden_of(state)` (any cell)
    c, i, f, g, o      LSTM: cell state, input / forget / output gates, candidate
    r, z, n            GRU: reset and update gates, candidate

Gates come from the LSTMCell or GRUCell found by following `.cell` through wrappers (Leaky,
Zoneout, Skip, …): during the re-run what that cell's `gates` returns is caught at each call, so
the gates are the ones actually computed, not computed twice. `c` is the second leaf of the state
(the carried cell state, after any wrapper's mixing). Padded steps (t ≥ lengths[b]) record zeros,
like the layer's outputs. Reverse layers are stored in input order. The re-run's outputs and final
state must match the layer's (else RuntimeError): the recording is provably of the same
computation. Stochastic wrappers in training mode cannot be re-run; record in eval mode.

`record_language_model` turns one token sequence into a `Recording` (tokens, every layer's
values, the model's next-token guesses) ready for the explorer page.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from rnnlab.cells._state import State, hidden_of, leaves
from rnnlab.cells.gru import GRUCell
from rnnlab.cells.lstm import LSTMCell
from rnnlab.errors import ConfigError, DataError
from rnnlab.layers.recurrent import Recurrent, state_where
from rnnlab.layers.sequence import check_lengths, length_mask, reverse_padded
from rnnlab.train.inference import eval_mode

MAX_TOKENS = 20_000  # tokens per recording: the page shows every value of every unit
KINDS = {LSTMCell: ("h", "c", "i", "f", "g", "o"), GRUCell: ("h", "r", "z", "n")}
_ATOL, _RTOL = 1e-4, 1e-3  # re-run vs. layer: the fused kernels round differently, not more


class Recorder:
    """Context manager that records every `Recurrent` layer of `model` (see the module docstring)."""

    def __init__(self, model: nn.Module):
        self.layers = {name or "layer": m for name, m in model.named_modules() if isinstance(m, Recurrent)}
        if not self.layers:
            raise ConfigError(f"Recorder: {type(model).__name__} contains no rnnlab Recurrent layer to record")
        self._calls: dict[str, list[dict[str, Tensor]]] = {name: [] for name in self.layers}
        self._handles: list = []

    def __enter__(self) -> "Recorder":
        for name, layer in self.layers.items():
            self._handles.append(layer.register_forward_hook(self._hook(name), with_kwargs=True))
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _hook(self, name: str):
        def hook(layer: Recurrent, args, kwargs, output):
            bound = inspect.signature(layer.forward).bind(*args, **kwargs)
            bound.apply_defaults()
            x, state, lengths = bound.arguments["x"], bound.arguments["state"], bound.arguments["lengths"]
            self._calls[name].append(rerun(layer, x, state, lengths, output, name))
        return hook

    @property
    def values(self) -> dict[str, dict[str, Tensor]]:
        """layer name → kind → (T, B, units); several calls are joined along time."""
        out = {}
        for name, calls in self._calls.items():
            if not calls:
                continue
            if len({c["h"].shape[1] for c in calls}) > 1:
                raise DataError(f"Recorder: layer {name} was called with different batch sizes; "
                                f"record one batch layout per `with` block")
            out[name] = {kind: torch.cat([c[kind] for c in calls]) for kind in calls[0]}
        return out


def gated_cell(cell: nn.Module) -> LSTMCell | GRUCell | None:
    """The LSTM or GRU cell at the end of a chain of wrappers' `.cell`, if any."""
    while not isinstance(cell, (LSTMCell, GRUCell)):
        cell = getattr(cell, "cell", None)
        if cell is None:
            return None
    return cell


@torch.no_grad()
def rerun(layer: Recurrent, x: Tensor, state: State | None, lengths, output, name: str = "layer") -> dict[str, Tensor]:
    """Step `layer.cell` over x as `layer` did and return kind → (T, B, units) in input order."""
    cell = layer.cell
    if layer.batch_first:
        x = x.transpose(0, 1)
    T, B = x.shape[:2]
    if state is None:
        state = cell.init_state(B, x.device, x.dtype)
    mask = None
    if lengths is not None:
        lengths = check_lengths(lengths, T, B, x.device, name)
        mask = length_mask(lengths, T) if bool((lengths < T).any()) else None
        lengths = lengths if mask is not None else None
    if layer.reverse:
        x = reverse_padded(x, lengths)

    inner = gated_cell(cell)
    kinds = KINDS[type(inner)] if inner is not None else ("h",)
    seen: list[tuple[Tensor, ...]] = []  # what the inner cell's `gates` returned at each call
    if inner is not None:
        inner.gates = _spy(inner.gates, seen)  # an instance attribute, shadowing the method until `del`
    steps: dict[str, list[Tensor]] = {k: [] for k in kinds}
    outputs = []
    try:
        for t in range(T):
            calls = len(seen)
            out, new = cell(x[t], state)
            if mask is not None:
                m = mask[t].unsqueeze(1)  # (B, 1)
                new, out = state_where(m, new, state), out * m
            outputs.append(out)
            state = new
            step = {"h": hidden_of(new)}
            if inner is not None and len(seen) == calls + 1:
                step.update(zip(kinds[1:], _gate_values(inner, seen[-1], new)))
            elif inner is not None:  # the wrapper skipped the inner cell or called it twice
                kinds = ("h",)
            for k in kinds:
                v = step[k]
                steps[k].append(v if mask is None else v * mask[t].unsqueeze(1).to(v.dtype))
    finally:
        if inner is not None:
            del inner.gates

    _check_same(layer, name, torch.stack(outputs), state, lengths, output)
    values = {}
    for k in kinds:
        v = torch.stack(steps[k])  # (T, B, units) in processing order
        if layer.reverse:
            v = reverse_padded(v, lengths)
        values[k] = v.detach().to("cpu", torch.float32)
    return values


def _spy(gates, seen: list):
    def spy(*args):
        out = gates(*args)
        seen.append(out)
        return out
    return spy


def _gate_values(inner: LSTMCell | GRUCell, gates: tuple[Tensor, ...], new: State) -> tuple[Tensor, ...]:
    """The kinds after "h" in KINDS order: LSTM c, i, f, g, o (c as carried); GRU r, z, n."""
    if isinstance(inner, LSTMCell):
        i, f, g, o, c_new = gates
        parts = leaves(new)
        carried = parts[1] if len(parts) > 1 and parts[1].shape == c_new.shape else c_new
        return carried, i, f, g, o
    return gates


def _check_same(layer: Recurrent, name: str, outputs: Tensor, final: State, lengths, output) -> None:
    """Raise unless the re-run reproduced the layer's outputs and final state."""
    if layer.reverse:
        outputs = reverse_padded(outputs, lengths)
    if layer.batch_first:
        outputs = outputs.transpose(0, 1)
    y, state = output
    pairs = [(outputs, y)] + list(zip(leaves(final), leaves(state)))
    for mine, theirs in pairs:
        if mine.shape != theirs.shape or not torch.allclose(mine.to(theirs.dtype), theirs, atol=_ATOL, rtol=_RTOL):
            diff = (mine - theirs).abs().max().item() if mine.shape == theirs.shape else "shape"
            raise RuntimeError(
                f"Recorder: re-running {name} ({type(layer.cell).__name__}) did not reproduce its outputs "
                f"(max difference {diff}); record in eval mode (model.eval()) so that stochastic cells "
                f"(Zoneout, RecurrentDropout) are deterministic"
            )


@dataclass
class Recording:
    """One example, ready to display: its tokens and every recorded value per token.

    values: "{layer}/{kind}" → (T, units) float32, e.g. "rnn.layers.0/c".
    predictions: per position the model's top guesses for the next token with probabilities.
    targets: per position the true next token (None at the last).
    labels: per position a tag or class (reserved for taggers and classifiers).
    """

    tokens: list[str]
    values: dict[str, np.ndarray]
    predictions: list[list[tuple[str, float]]] | None = None
    targets: list[str | None] | None = None
    labels: list[str] | None = None

    def __post_init__(self):
        T = len(self.tokens)
        for key, v in self.values.items():
            if v.ndim != 2 or v.shape[0] != T:
                raise DataError(f"Recording: values[{key!r}] must be (T={T}, units), got shape {v.shape}")
        for field in ("predictions", "targets", "labels"):
            seq = getattr(self, field)
            if seq is not None and len(seq) != T:
                raise DataError(f"Recording: {field} has {len(seq)} entries for {T} tokens")

    def __len__(self) -> int:
        return len(self.tokens)

    def keys(self) -> list[str]:
        return list(self.values)

    def units(self, key: str) -> int:
        if key not in self.values:
            raise KeyError(f"no recorded values {key!r}; have: {', '.join(self.values)}")
        return self.values[key].shape[1]

    def to_json(self, *, keys: Sequence[str] | None = None) -> dict:
        """Plain lists for the web page, floats rounded to 4 decimals; `keys` picks some values."""
        keys = self.keys() if keys is None else list(keys)
        for key in keys:
            self.units(key)  # KeyError naming the choices
        preds = None
        if self.predictions is not None:
            preds = [[[tok, round(float(p), 4)] for tok, p in step] for step in self.predictions]
        return {
            "tokens": list(self.tokens),
            "values": {k: np.round(self.values[k].astype(np.float64), 4).tolist() for k in keys},
            "predictions": preds,
            "targets": None if self.targets is None else list(self.targets),
            "labels": None if self.labels is None else list(self.labels),
        }


def record_language_model(model, vocab, tokens: Sequence[str], top_k: int = 5) -> Recording:
    """Run a `LanguageModel` (eval mode, no grad) over one token sequence and record everything.

    `tokens` is a list of tokens (a str is read as characters); unknown ones map to `<unk>`.
    """
    tokens = list(tokens)
    if not tokens:
        raise DataError("cannot record an empty sequence")
    if len(tokens) > MAX_TOKENS:
        raise DataError(f"a recording holds at most MAX_TOKENS = {MAX_TOKENS} tokens, got {len(tokens)}; "
                        f"record a shorter piece")
    device = model.decoder.weight.device
    ids = vocab.encode(tokens).to(device).unsqueeze(1)  # (T, 1)
    with eval_mode(model):
        with torch.no_grad(), Recorder(model) as rec:
            logits, _ = model(ids)
    probs = torch.softmax(logits[:, 0].float(), dim=-1).cpu()  # (T, V)
    p, idx = probs.topk(min(top_k, probs.shape[1]), dim=-1)
    predictions = [[(vocab[j], float(q)) for q, j in zip(ps, js)] for ps, js in zip(p.tolist(), idx.tolist())]
    values = {f"{layer}/{kind}": v[:, 0].numpy() for layer, kinds in rec.values.items() for kind, v in kinds.items()}
    return Recording(tokens, values, predictions, tokens[1:] + [None])


def record_examples(model, vocab, examples: Sequence[Sequence[str]], top_k: int = 5) -> list[Recording]:
    """One `Recording` per example, each run from a fresh state (never glued into one stream)."""
    return [record_language_model(model, vocab, ex, top_k) for ex in examples]
