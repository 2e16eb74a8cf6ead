"""Learning-rate schedules that are decided once per epoch and saved as plain JSON.

- `constant`: the base rate throughout.
- `step`: lr = base · factor^⌈max(0, epoch − start) / every⌉ for 1-based epochs — with start = 4,
  every = 1 and factor = 0.5 this is Zaremba et al.'s "halve every epoch after the 4th"; with
  start = every = 25 it is Sukhbaatar et al.'s "halve every 25 epochs".
- `plateau`: multiply by `factor` after `patience` + 1 epochs in a row whose validation metric
  did not improve on the best (lower is better) by more than `threshold` (relative).
- `cosine`: lr = min_lr + (base − min_lr) · (1 + cos(π (epoch − 1) / total)) / 2 over `total`
  epochs (Loshchilov & Hutter 2017, without restarts, decided per epoch).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from rnnlab.errors import ConfigError

SCHEDULES = ("constant", "step", "plateau", "cosine")


@dataclass
class Schedule:
    """The learning rate per epoch: `lr_for_epoch(epoch)` (1-based), `observe(valid_metric)` after
    each epoch (plateau decays on it); `state_dict()` / `from_state_dict()` for checkpoints."""

    kind: str = "constant"
    base_lr: float = 1e-3
    factor: float = 0.5
    start: int = 4          # step: last epoch at the base rate
    every: int = 1          # step: epochs between decays after `start`
    patience: int = 0       # plateau: epochs without improvement tolerated before decaying
    threshold: float = 1e-4  # plateau: relative improvement that counts
    min_lr: float = 0.0
    total: int = 1          # cosine: the epochs it anneals over
    # plateau's running state
    lr: float | None = None
    best: float | None = None
    bad_epochs: int = 0

    def __post_init__(self):
        if self.kind not in SCHEDULES:
            raise ConfigError(f"unknown schedule {self.kind!r}; choose one of: {', '.join(SCHEDULES)}")
        if not 0 < self.factor <= 1:
            raise ConfigError(f"schedule factor must be in (0, 1], got {self.factor}")
        if self.kind == "cosine" and self.total < 1:
            raise ConfigError(f"the cosine schedule needs total >= 1 epochs, got {self.total}")
        if self.every < 1:
            raise ConfigError(f"schedule: decay every must be >= 1 epoch, got {self.every}")
        if self.lr is None:
            self.lr = self.base_lr

    def lr_for_epoch(self, epoch: int) -> float:
        """The rate for 1-based `epoch`."""
        if self.kind == "step":
            decays = -(-max(0, epoch - self.start) // self.every)  # ⌈(epoch − start) / every⌉
            return max(self.min_lr, self.base_lr * self.factor ** decays)
        if self.kind == "cosine":
            done = min(max(epoch - 1, 0), self.total) / self.total
            return self.min_lr + (self.base_lr - self.min_lr) * (1 + math.cos(math.pi * done)) / 2
        return self.lr

    def observe(self, metric: float) -> None:
        """Feed the epoch's validation metric (only plateau uses it)."""
        if self.kind != "plateau":
            return
        if self.best is None or metric < self.best * (1 - self.threshold):
            self.best, self.bad_epochs = metric, 0
            return
        self.bad_epochs += 1
        if self.bad_epochs > self.patience:
            self.lr, self.bad_epochs = max(self.min_lr, self.lr * self.factor), 0

    def state_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_state_dict(cls, state: dict) -> "Schedule":
        return cls(**state)
