"""A trained utterance classifier with its features and labels: WAV files (or signals) in,
labels and probabilities out. Needs no data splits."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch

from rnnlab.data.audio import AudioFeatures, read_wav
from rnnlab.speech.task import pad_frames
from rnnlab.train.inference import eval_mode, model_device


class AudioPredictor:
    """`predict_files(paths)` → per file (label, {label: probability}); the features are computed as
    in training (`features`), the model runs in eval mode, `batch_size` files at a time."""

    def __init__(self, model, features: AudioFeatures, labels: Sequence[str], *, batch_size: int = 32):
        self.model, self.features, self.labels, self.batch_size = model, features, list(labels), batch_size

    def predict_signals(self, signals: Sequence[tuple[torch.Tensor, int]]) -> list[tuple[str, dict[str, float]]]:
        frames = [self.features(x, rate) for x, rate in signals]
        results = []
        with torch.no_grad(), eval_mode(self.model):
            for start in range(0, len(frames), self.batch_size):
                batch, lengths = pad_frames(frames[start:start + self.batch_size], model_device(self.model))
                probs = torch.softmax(self.model(batch, lengths).double(), -1)
                for p in probs.tolist():
                    best = max(range(len(p)), key=p.__getitem__)
                    results.append((self.labels[best], dict(zip(self.labels, p))))
        return results

    def predict_files(self, paths: Sequence[str | Path]) -> list[tuple[str, dict[str, float]]]:
        return self.predict_signals([read_wav(p) for p in paths])
