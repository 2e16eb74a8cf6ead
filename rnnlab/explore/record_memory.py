"""Recordings of the memory models for the explorer page (rnnlab.explore): what an NTM read and
wrote at each step, and where a memory network looked at each hop.

`record_ntm` runs a `BitSequenceModel` over bit-sequence examples under the Recorder, so the
weightings shown are the ones the model computed (the cell's "read" and "write" internals). Each
step becomes a token (the input vector as bits, "▶" for a delimiter, "·" in the output phase); the
values are the layer's (h, read, write) plus "io/input", "io/target" and "io/output" (the model's
output probabilities), all (T, ·) — the page's memory panel draws them as heatmaps.

`record_memn2n` turns each question into a recording whose tokens are the story's sentences and
then the question with the model's answer; "memory/attention" (T, hops) is the attention per hop
(0 on the question row) and "memory/support" marks the supporting facts.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from rnnlab.datasets.babi import QAExample
from rnnlab.datasets.ntm_tasks import BitBatch
from rnnlab.explore.record import Recorder, Recording
from rnnlab.memory.qa_task import encode
from rnnlab.train.inference import eval_mode, model_device


def step_tokens(batch: BitBatch, bits: int) -> list[str]:
    """One label per step of a single-example batch."""
    out = []
    for t in range(batch.inputs.shape[0]):
        x = batch.inputs[t, 0]
        if batch.mask[t, 0]:
            out.append("·")
        elif float(x[bits:].abs().sum()) > 0:
            out.append("▶")
        else:
            out.append("".join(str(int(v)) for v in x[:bits].tolist()))
    return out


@torch.no_grad()
def record_ntm(model, batches: Sequence[BitBatch], bits: int) -> list[Recording]:
    """One `Recording` per single-example batch (see the module docstring)."""
    recordings = []
    device = model_device(model)
    with eval_mode(model):
        for batch in batches:
            with Recorder(model) as rec:
                logits = model(batch.inputs.to(device))
            values = {f"{layer}/{kind}": v[:, 0].numpy().astype(np.float32)
                      for layer, kinds in rec.values.items() for kind, v in kinds.items()}
            target = torch.where(batch.mask.unsqueeze(-1), batch.targets, torch.zeros(()))[:, 0]
            values.update({"io/input": batch.inputs[:, 0].numpy().astype(np.float32),
                           "io/target": target.numpy().astype(np.float32),
                           "io/output": torch.sigmoid(logits[:, 0]).cpu().numpy().astype(np.float32)})
            recordings.append(Recording(step_tokens(batch, bits), values))
    return recordings


@torch.no_grad()
def record_memn2n(model, vocab, examples: Sequence[QAExample]) -> list[Recording]:
    """One `Recording` per question: the story's sentences, then "question → answer (gold …)"."""
    recordings = []
    with eval_mode(model):
        for ex in examples:
            story, question, _ = encode([ex], vocab, model_device(model))
            logits, attention = model(story, question, attention=True)
            answer = vocab.tokens[int(logits.argmax(-1))]
            n = len(ex.story)
            attn = np.zeros((n + 1, model.hops), np.float32)
            attn[:n] = attention[0, :, :n].T.cpu().numpy()
            support = np.zeros((n + 1, 1), np.float32)
            support[list(ex.support), 0] = 1.0
            gold = f" (gold {ex.answer})" if ex.answer else ""
            tokens = [" ".join(s) for s in ex.story] + [f"{' '.join(ex.question)} → {answer}{gold}"]
            recordings.append(Recording(tokens, {"memory/attention": attn, "memory/support": support}))
    return recordings
