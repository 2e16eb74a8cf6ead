"""Trainer tasks over signals: system identification (`PlantTask`) and latching (`LatchingTask`).

PlantTask: each split is one long recording (x (T, 1), y (T, 1), clean (T, 1)). Training cuts the
training recording into windows of `window` steps starting at shuffled offsets (the order drawn
from (seed, epoch) alone); each window starts from rest, so the model learns from its own start-up
too. The loss is the mean squared error of ŷ against the measured y. How the NARX output delay line
is fed while training is `feedback`:

    "series-parallel"  the measured y (teacher forcing: one-step-ahead regression)
    "parallel"         the model's own ŷ (closed loop, BPTT through the fed-back outputs)
    "scheduled"        the measured y with probability p_e = max(0, 1 - e / (0.75 E)) in epoch e
                       of E, else ŷ (scheduled sampling)

`evaluate` scores the whole held-out recording from rest against the noise-free output: "rmse_one"
(one step ahead: the measured past outputs in the delay line) and "rmse_free" (free run /
simulation: only the input signal; the metric that selects the best weights). A model without
output feedback (Elman, LSTM) never sees y, so its two numbers are the same.

LatchingTask: x (T, N, 1), labels (N,) per split; the class is read from the last step's output
(a logit); the loss is binary cross-entropy; evaluate gives loss, accuracy and error.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.nn import functional as F

from rnnlab.errors import ConfigError, DataError
from rnnlab.train.inference import eval_mode, model_device
from rnnlab.train.shuffle import EpochShuffle
from rnnlab.train.trainer import StepOutput

FEEDBACK = ("series-parallel", "parallel", "scheduled")


class PlantTask:
    metric = "rmse_free"

    def __init__(self, splits: dict, *, window: int = 50, batch_size: int = 16, epochs: int = 1,
                 feedback: str = "series-parallel", seed: int = 0):
        if feedback not in FEEDBACK:
            raise ConfigError(f"feedback must be one of {', '.join(FEEDBACK)}, got {feedback!r}")
        if "train" not in splits:
            raise DataError("plant task: no training signal")
        T = splits["train"].x.shape[0]
        if not 2 <= window <= T:
            raise ConfigError(f"window must be in [2, {T}] (the training signal's length), got {window}")
        self.splits, self.window, self.batch_size, self.epochs = splits, window, batch_size, epochs
        self.feedback, self.seed = feedback, seed
        self.starts = torch.arange(0, T - window + 1, max(1, window // 5))  # overlapping windows, 5 per window length
        self.shuffle = EpochShuffle(len(self.starts), seed)

    def num_batches(self) -> int:
        return -(-len(self.starts) // self.batch_size)

    def teacher_prob(self, epoch: int) -> float:
        if self.feedback == "series-parallel":
            return 1.0
        if self.feedback == "parallel":
            return 0.0
        return max(0.0, 1.0 - (epoch - 1) / (0.75 * self.epochs))

    def train_step(self, model, epoch: int, index: int, carry) -> StepOutput:
        train = self.splits["train"]
        starts = self.starts[torch.as_tensor(self.shuffle.batch(epoch, index, self.batch_size))]
        rows = starts.unsqueeze(0) + torch.arange(self.window).unsqueeze(1)  # (W, B) time indices
        device = model_device(model)
        x, y = train.x[rows].to(device), train.y[rows].to(device)  # (W, B, 1)
        feed = dict(y=y, teacher_prob=self.teacher_prob(epoch)) if getattr(model, "teacher", False) else {}
        return StepOutput(F.mse_loss(model(x, **feed), y), len(starts))

    @torch.no_grad()
    def predictions(self, model, split: str) -> dict[str, Tensor]:
        """{"one": one-step ŷ, "free": free-run ŷ} of the whole split, each (T, 1)."""
        if split not in self.splits:
            raise DataError(f"no {split!r} signal (have: {', '.join(self.splits)})")
        s = self.splits[split]
        device = model_device(model)
        x, y = s.x.unsqueeze(1).to(device), s.y.unsqueeze(1).to(device)
        with eval_mode(model):
            free = model(x)[:, 0].cpu()
            one = model(x, y=y, teacher_prob=1.0)[:, 0].cpu() if getattr(model, "teacher", False) else free
        return {"one": one, "free": free}

    def evaluate(self, model, split: str) -> dict[str, float]:
        pred, clean = self.predictions(model, split), self.splits[split].clean
        rmse = {k: float(torch.sqrt(F.mse_loss(v, clean))) for k, v in pred.items()}
        free = rmse["free"] if math.isfinite(rmse["free"]) else float("inf")
        return {"loss": float(F.mse_loss(pred["one"], self.splits[split].y)), "rmse_one": rmse["one"], "rmse_free": free}


class LatchingTask:
    metric = "error"

    def __init__(self, splits: dict[str, tuple[Tensor, Tensor]], *, batch_size: int = 32, seed: int = 0):
        if "train" not in splits:
            raise DataError("latching task: no training examples")
        self.splits, self.batch_size = splits, batch_size
        self.shuffle = EpochShuffle(splits["train"][0].shape[1], seed)

    def num_batches(self) -> int:
        return -(-self.splits["train"][0].shape[1] // self.batch_size)

    def train_step(self, model, epoch: int, index: int, carry) -> StepOutput:
        x, labels = self.splits["train"]
        rows = torch.as_tensor(self.shuffle.batch(epoch, index, self.batch_size))
        device = model_device(model)
        logits = model(x[:, rows].to(device))[-1, :, 0]
        return StepOutput(F.binary_cross_entropy_with_logits(logits, labels[rows].float().to(device)), len(rows))

    @torch.no_grad()
    def evaluate(self, model, split: str) -> dict[str, float]:
        if split not in self.splits:
            raise DataError(f"no {split!r} split (have: {', '.join(self.splits)})")
        x, labels = self.splits[split]
        device = model_device(model)
        with eval_mode(model):
            logits = model(x.to(device))[-1, :, 0].cpu()
        accuracy = float(((logits > 0).long() == labels).double().mean())
        return {"loss": float(F.binary_cross_entropy_with_logits(logits, labels.float())), "accuracy": accuracy,
                "error": 1.0 - accuracy}
