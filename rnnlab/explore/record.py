"""Record what every unit of a recurrent network does: hidden states and cell internals, per step.

    with Recorder(model) as rec:
        model(x)
    rec.values["rnn.layers.0"]["c"]        # (T, B, units), float32 on CPU, input order

`Recorder` registers a step hook (see `Recurrent.register_step_hook`) on every
`rnnlab.layers.Recurrent` inside the model while the `with` block lasts; the hooks are removed on
exit, so training never pays for them. While hooked, a layer runs its step path, and the hook
keeps at every step:

    h                  the hidden vector, `hidden_of(state)` (any cell)
    every internal     what `cell.step` reports (`cell.internals`): an LSTM's c, i, f, g, o
                       (cell state, input / forget / output gates, candidate), a GRU's r, z, n
                       (reset and update gates, candidate); wrappers pass their inner cell's on

The recording *is* the computation: nothing is re-run or patched, so what is recorded is what
produced the layer's outputs — in training mode too, with whatever noise a stochastic wrapper
(Zoneout, RecurrentDropout) drew. A cell without internals records "h" only. Padded steps
(t ≥ lengths[b]) record zeros, like the layer's outputs; reverse layers are stored in input order;
batch-first layers are stored time-major. Kinds are listed in KINDS order, then any others in the
cell's own order.

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

from rnnlab.cells._state import hidden_of
from rnnlab.errors import ConfigError, DataError
from rnnlab.layers.recurrent import Recurrent, Step
from rnnlab.layers.sequence import check_lengths, length_mask, reverse_padded
from rnnlab.train.inference import eval_mode

MAX_TOKENS = 20_000  # tokens per recording: the page shows every value of every unit
KINDS = ("h", "c", "i", "f", "g", "o", "r", "z", "n")  # the order the page lists a layer's values in


class Recorder:
    """Context manager that records every `Recurrent` layer of `model` (see the module docstring).

    `values`: layer name (as in `model.named_modules()`) → kind → (T, B, units) float32 CPU tensor.
    """

    def __init__(self, model: nn.Module):
        self.layers = {name or "layer": m for name, m in model.named_modules() if isinstance(m, Recurrent)}
        if not self.layers:
            raise ConfigError(f"Recorder: {type(model).__name__} contains no rnnlab Recurrent layer to record")
        self._calls: dict[str, list[dict[str, Tensor]]] = {name: [] for name in self.layers}
        self._steps: dict[str, list[dict[str, Tensor]]] = {name: [] for name in self.layers}  # the call running
        self._handles: list = []

    def __enter__(self) -> "Recorder":
        for name, layer in self.layers.items():
            self._handles.append(layer.register_step_hook(self._keep_step(name)))
            self._handles.append(layer.register_forward_hook(self._end_call(name), with_kwargs=True))
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _keep_step(self, name: str):
        def hook(layer: Recurrent, step: Step) -> None:
            if step.t == 0:  # a new call (a call that raised midway left its steps behind)
                self._steps[name] = []
            values = {k: v.detach() for k, v in step.internals.items()}
            values["h"] = hidden_of(step.state).detach()
            self._steps[name].append(values)
        return hook

    def _end_call(self, name: str):
        def hook(layer: Recurrent, args, kwargs, output) -> None:
            bound = inspect.signature(layer.forward).bind(*args, **kwargs)
            steps, self._steps[name] = self._steps[name], []
            self._calls[name].append(in_input_order(layer, steps, bound.arguments.get("lengths"), name))
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


def in_input_order(layer: Recurrent, steps: list[dict[str, Tensor]], lengths, name: str = "layer") -> dict[str, Tensor]:
    """One call's per-step values (processing order, as the step hook kept them) → kind →
    (T, B, units) float32 on CPU in input order, zeros at padded steps."""
    T, B = len(steps), steps[0]["h"].shape[0]
    mask = None
    if lengths is not None:  # the layer has checked them already; this only makes them a tensor
        lengths = check_lengths(lengths, T, B, steps[0]["h"].device, name)
        mask = length_mask(lengths, T).unsqueeze(-1) if bool((lengths < T).any()) else None
        lengths = lengths if mask is not None else None
    order = [k for k in KINDS if k in steps[0]] + [k for k in steps[0] if k not in KINDS]
    values = {}
    for kind in order:
        v = torch.stack([s[kind] for s in steps])  # (T, B, units) in processing order
        if mask is not None:  # select: padded steps hold the cell's discarded values
            v = torch.where(mask, v, torch.zeros((), dtype=v.dtype, device=v.device))
        if layer.reverse:
            v = reverse_padded(v, lengths)
        values[kind] = v.to("cpu", torch.float32)
    return values


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
