"""Small pieces evaluation and prediction share: the model's device, eval mode restored after,
batches of similar length."""
from __future__ import annotations

from typing import Sequence

import torch


def model_device(model) -> torch.device:
    """Where the model's parameters live (CPU for a model without parameters)."""
    p = next(model.parameters(), None)
    return torch.device("cpu") if p is None else p.device


class eval_mode:
    """model.eval() inside, the previous mode restored after (the caller may be mid-training)."""

    def __init__(self, model):
        self.model, self.was_training = model, model.training

    def __enter__(self):
        self.model.eval()

    def __exit__(self, *exc):
        self.model.train(self.was_training)


def length_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Row indices in batches of similar length (less padding); callers put results back in order."""
    by_length = sorted(range(len(lengths)), key=lengths.__getitem__)
    return [by_length[a:a + batch_size] for a in range(0, len(by_length), batch_size)]
