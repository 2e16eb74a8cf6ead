"""Recordings of frame- and signal-level models for the explorer (kind "signal"): every unit over
time for one utterance or one signal.

`record_utterance` runs an `UtteranceClassifier` (rnnlab/speech) over one utterance's feature
frames. Tokens are the frames' times in seconds; the values are

    input/features       (T, F)        the frames the model read
    encoder.layers.<i>/h (T, units)    a TDNN layer's outputs (the TDNN's own `record_frames`); a
                                       sub-sampled layer's output frame t' is shown at the input
                                       frames it was centred on and the stride − 1 after it;
                                       a recurrent encoder's layers through the `Recorder` (h and
                                       every cell internal, under the Recorder's layer names)
    output/p             (T, classes)  the class posterior had the utterance ended at frame t: the
                                       model's own pooling and head over its encoder outputs up to
                                       t; the last row is exactly the model's answer

`record_signal` runs a `SignalModel` (rnnlab/sysid: NARX, Elman, LSTM) free-running over one input
signal under the `Recorder` (a NARX layer gives its delay-line state h, hidden layer and fed-back
outputs y); tokens are the input values, and "io/input", "io/output" (ŷ) and, when known,
"io/target" (T, ·) are added, plus "io/one-step" (ŷ with the true outputs in the delay line) for
a teacher-forced NARX given its target.

Both record what the model computed in eval mode: nothing is patched.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from rnnlab.errors import DataError
from rnnlab.explore.record import MAX_TOKENS, Recorder, Recording
from rnnlab.layers.recurrent import Recurrent
from rnnlab.layers.tdnn import TDNN
from rnnlab.train.inference import eval_mode, model_device

PREFIX_CHUNK = 64  # prefixes pooled per batch for output/p: memory grows with T · chunk · units


def _check_length(T: int, what: str) -> None:
    if T == 0:
        raise DataError(f"cannot record an empty {what}")
    if T > MAX_TOKENS:
        raise DataError(f"a recording holds at most MAX_TOKENS = {MAX_TOKENS} steps, got a {what} of {T}")


def _recorded(rec: Recorder | None) -> dict[str, np.ndarray]:
    if rec is None:
        return {}
    return {f"{layer}/{kind}": v[:, 0].numpy().astype(np.float32)
            for layer, kinds in rec.values.items() for kind, v in kinds.items()}


def _to_frames(v: Tensor, T: int, stride: int) -> np.ndarray:
    """(T', units) output frames of a layer with total `stride` → (T, units): frame t shows t // stride."""
    index = torch.clamp(torch.arange(T) // stride, max=v.shape[0] - 1)
    return v[index].cpu().numpy().astype(np.float32)


@torch.no_grad()
def prefix_posteriors(model, h: Tensor) -> Tensor:
    """(T', classes): softmax(head(pool(h[:t+1]))) for every t, for one utterance's encoder outputs
    h (T', units) — the model's own pooling and head, fed the first t + 1 frames."""
    rows = []
    for start in range(0, len(h), PREFIX_CHUNK):
        ends = torch.arange(start + 1, min(len(h), start + PREFIX_CHUNK) + 1, device=h.device)  # prefix lengths
        batch = h[: int(ends[-1])].unsqueeze(1).expand(-1, len(ends), -1)  # (t_max, n, units)
        rows.append(torch.softmax(model.out(model.pooling(batch, ends)).double(), -1).float())
    return torch.cat(rows)


@torch.no_grad()
def record_utterance(model, frames: Tensor, *, hop_s: float = 0.01) -> Recording:
    """One `Recording` of an `UtteranceClassifier` over (T, F) frames (see the module docstring)."""
    if frames.dim() != 2:
        raise DataError(f"an utterance is (T, F) frames, got shape {tuple(frames.shape)}")
    T = frames.shape[0]
    _check_length(T, "utterance")
    device = model_device(model)
    x = frames.to(device).unsqueeze(1)  # (T, 1, F)
    lengths = torch.tensor([T], device=device)
    encoder = model.encoder
    tdnn = isinstance(encoder, TDNN)
    rec = Recorder(model) if any(isinstance(m, Recurrent) for m in model.modules()) else None
    with eval_mode(model):
        if tdnn:
            encoder.record_frames = True
        try:
            if rec is not None:
                rec.__enter__()
            h, second = encoder(x, None, lengths)
        finally:
            if rec is not None:
                rec.__exit__(None, None, None)
            if tdnn:
                encoder.record_frames = False
        values = {"input/features": frames.detach().cpu().numpy().astype(np.float32)}
        if tdnn:
            stride = 1
            for i, layer in enumerate(encoder.layers):
                stride *= layer.stride
                values[f"encoder.layers.{i}/h"] = _to_frames(encoder.last_frames[f"layers.{i}"][:, 0], T, stride)
            top = int(second[0])
        else:
            values.update(_recorded(rec))
            stride, top = 1, T
        posterior = prefix_posteriors(model, h[:top, 0])
    values["output/p"] = _to_frames(posterior, T, stride)
    tokens = [f"{t * hop_s:.2f}" for t in range(T)]
    return Recording(tokens, values)


@torch.no_grad()
def record_signal(model, x: Tensor, target: Tensor | None = None) -> Recording:
    """One `Recording` of a `SignalModel` over an input signal x (T, input_size) run free (no true
    outputs fed back), with the target (T, output_size) shown beside it when given."""
    if x.dim() != 2 or x.shape[1] != model.input_size:
        raise DataError(f"a signal is (T, {model.input_size}) inputs, got shape {tuple(x.shape)}")
    T = x.shape[0]
    _check_length(T, "signal")
    device, dtype = model_device(model), next(model.parameters()).dtype
    x = x.to(device=device, dtype=dtype)
    with eval_mode(model):
        with Recorder(model) as rec:
            y_hat = model(x.unsqueeze(1))[:, 0]
        values = _recorded(rec)
        values["io/input"] = x.cpu().numpy().astype(np.float32)
        values["io/output"] = y_hat.cpu().numpy().astype(np.float32)
        if target is not None:
            if target.dim() != 2 or target.shape[0] != T:
                raise DataError(f"the target must be (T={T}, outputs), got shape {tuple(target.shape)}")
            values["io/target"] = target.cpu().numpy().astype(np.float32)
            if getattr(model, "teacher", False) and target.shape[1] == model.narx.output_size:
                y = target.to(device=device, dtype=dtype).unsqueeze(1)
                one = model(x.unsqueeze(1), y=y, teacher_prob=1.0)[:, 0]
                values["io/one-step"] = one.cpu().numpy().astype(np.float32)
    tokens = [" ".join(f"{v:.2f}" for v in row) for row in x.tolist()]
    return Recording(tokens, values)


def record_signals(model, signals: Sequence[tuple[Tensor, Tensor | None]]) -> list[Recording]:
    return [record_signal(model, x, y) for x, y in signals]
