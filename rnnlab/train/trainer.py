"""The training loop. It knows nothing about the model: a *task* supplies the updates.

A task is any object with
    num_batches() -> int                                    updates per epoch (fixed)
    train_step(model, epoch, index, carry) -> StepOutput    loss of update `index` of `epoch`
    evaluate(model, split) -> dict[str, float]              metrics on a split (no gradient)
    metric: str                                             the validation metric; lower is better
`carry` is whatever the task hands from one update to the next (for a language model, the
detached recurrent state of truncated BPTT); it is None at the start of every epoch and is saved
in checkpoints, so update `index` can be recomputed exactly after a resume. Tasks must therefore
make update `index` depend only on (epoch, index, carry) and the RNGs, never on hidden counters.

Resume is exact: the checkpoint holds the weights, optimizer moments, schedule, the position
(epoch, index, step), the carry and every RNG state, so an interrupted-and-resumed run computes
the same losses as an uninterrupted one.
"""
from __future__ import annotations

import math
import signal
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from rnnlab.errors import CheckpointError, ConfigError, DivergedError
from rnnlab.train.config import TrainConfig
from rnnlab.train.checkpoint import read_checkpoint, rng_state, set_rng_state, write_checkpoint, write_tensors
from rnnlab.train.metrics_log import MetricsLog
from rnnlab.train.optim import clip_gradients, make_optimizer
from rnnlab.train.schedule import Schedule


class StepOutput(NamedTuple):
    """What a task's `train_step` returns for one update."""
    loss: Tensor   # scalar: the mean loss over `tokens` (what is logged)
    tokens: int    # how many predictions the loss averages (for tokens/s and weighted means)
    carry: Any = None
    scale: float = 1.0  # the gradient is that of loss · scale (e.g. a sum over time steps)


def seed_everything(seed: int) -> None:
    """Seed torch, Python and NumPy (model initialisation and dropout draw from these)."""
    import random

    import numpy as np
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)


class _Interrupt:
    """First Ctrl-C asks the loop to stop after the current update (and checkpoint); a second one
    interrupts at once. Only installable from the main thread."""

    def __init__(self):
        self.requested, self._previous = False, None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


class Trainer:
    """Trainer(model, task, config, run_dir=None, *, progress=True): `fit()` trains `model` on the
    updates `task` supplies (see the module docstring), checkpointing into `run_dir`;
    `restore()` continues from its checkpoint exactly."""

    CHECKPOINT = "checkpoint"
    BEST = "best.safetensors"

    def __init__(self, model: nn.Module, task, config: TrainConfig, run_dir: str | Path | None = None, *,
                 progress: bool = True, tensorboard: bool = True):
        self.model, self.task, self.config = model, task, config
        self.run_dir = None if run_dir is None else Path(run_dir)
        if self.run_dir is not None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        self.progress = progress
        self.optimizer = make_optimizer(model.parameters(), config.optimizer, config.lr,
                                        momentum=config.momentum, weight_decay=config.weight_decay)
        self.schedule = Schedule(config.schedule, base_lr=config.lr, factor=config.decay_factor,
                                 start=config.decay_start, patience=config.plateau_patience)
        self.log = MetricsLog(self.run_dir, tensorboard=tensorboard)
        # where we are: the next update is `index` of `epoch` (1-based); `step` updates done so far
        self.epoch, self.index, self.step = 1, 0, 0
        self.carry: Any = None
        self.best: float | None = None
        self.bad_epochs = 0
        self.early_stopped = False
        self.last_valid: dict | None = None

    # --- checkpoints ---------------------------------------------------------------------------

    def state_dict(self) -> dict:
        return {
            "epoch": self.epoch, "index": self.index, "step": self.step, "carry": self.carry,
            "best": self.best, "bad_epochs": self.bad_epochs, "early_stopped": self.early_stopped,
            "last_valid": self.last_valid, "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(), "rng": rng_state(), "config": self.config.to_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.index, self.step = state["epoch"], state["index"], state["step"]
        self.carry, self.best, self.bad_epochs = state["carry"], state["best"], state["bad_epochs"]
        self.early_stopped, self.last_valid = state["early_stopped"], state["last_valid"]
        try:
            self.optimizer.load_state_dict(state["optimizer"])
        except (ValueError, KeyError, RuntimeError) as e:
            raise CheckpointError(f"checkpoint optimizer state does not fit this model ({e})") from None
        self.schedule = Schedule.from_state_dict(state["schedule"])
        set_rng_state(state["rng"])

    def save(self) -> None:
        if self.run_dir is not None:
            write_checkpoint(self.run_dir / self.CHECKPOINT, self.model, self.state_dict())

    def restore(self) -> None:
        """Continue from the run directory's checkpoint (weights, optimizer, position, RNGs)."""
        if self.run_dir is None:
            raise ConfigError("restore needs a run directory")
        state = read_checkpoint(self.run_dir / self.CHECKPOINT, self.model)
        try:
            saved = state["config"]["optimizer"]
        except (KeyError, TypeError):
            raise CheckpointError(f"checkpoint in {self.run_dir} is corrupt (no training config)") from None
        if saved != self.config.optimizer:
            raise ConfigError(f"cannot resume: the run used optimizer {saved!r}, not {self.config.optimizer!r}")
        try:
            self.load_state_dict(state)
        except (KeyError, TypeError) as e:
            raise CheckpointError(f"checkpoint in {self.run_dir} is corrupt (missing {e})") from None
        if self.index > self.task.num_batches():  # only the task knows an epoch's length
            raise CheckpointError(f"checkpoint in {self.run_dir} is corrupt: it stopped at update {self.index} of "
                                  f"an epoch that has {self.task.num_batches()}")
        self.log.truncate_after(self.step)

    # --- the loop ------------------------------------------------------------------------------

    def fit(self) -> dict:
        """Train until the epochs are done, early stopping, a budget (max_steps / max_time) or Ctrl-C.

        Returns a summary: `stopped` (why), `step`, `epoch`, and the last validation metrics.
        """
        cfg, started = self.config, time.perf_counter()
        stopped = "early stopping" if self.early_stopped else None
        with _Interrupt() as interrupt:
            while stopped is None and self.epoch <= cfg.epochs:
                stopped = self._run_epoch(interrupt, started)
                if stopped is None:
                    stopped = self._end_epoch()
            stopped = stopped or "finished"
        self.save()
        self.log.close()
        return {"stopped": stopped, "step": self.step, "epochs_done": self.epoch - 1, "valid": self.last_valid}

    def _run_epoch(self, interrupt: _Interrupt, started: float) -> str | None:
        cfg, model = self.config, self.model
        lr = self.schedule.lr_for_epoch(self.epoch)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        n = self.task.num_batches()
        bar = _progress(n, self.index, f"epoch {self.epoch}/{cfg.epochs}", self.progress)
        loss_sum, tokens, norm_max, t0 = 0.0, 0, 0.0, time.perf_counter()
        model.train()
        try:
            while self.index < n:
                out = self.task.train_step(model, self.epoch, self.index, self.carry)
                self.optimizer.zero_grad(set_to_none=True)
                (out.loss * out.scale if out.scale != 1.0 else out.loss).backward()
                norm = clip_gradients(model.parameters(), cfg.clip_norm, cfg.clip_value)
                loss = float(out.loss.detach())
                if not (math.isfinite(loss) and math.isfinite(norm)):
                    raise DivergedError(
                        f"training diverged at step {self.step + 1} (loss {loss}, gradient norm {norm}); "
                        "lower the learning rate or clip gradients (--clip-norm)"
                    )
                self.optimizer.step()
                self.carry, self.index, self.step = out.carry, self.index + 1, self.step + 1
                loss_sum, tokens, norm_max = loss_sum + loss * out.tokens, tokens + out.tokens, max(norm_max, norm)
                speed = tokens / max(time.perf_counter() - t0, 1e-9)
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.3f}", tok_s=f"{speed:,.0f}", refresh=False)
                if self.step % cfg.log_every == 0 or self.index == n:
                    self.log.write("train", self.step, self.epoch, loss=loss_sum / max(tokens, 1), lr=lr,
                                   grad_norm=norm_max, tokens_per_s=round(speed, 1))
                    loss_sum, tokens, norm_max, t0 = 0.0, 0, 0.0, time.perf_counter()
                stop = self._budget_stop(interrupt, started)
                if stop:
                    return stop
                if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0 and self.index < n:
                    self.save()
        finally:
            bar.close()
        return None

    def _budget_stop(self, interrupt: _Interrupt, started: float) -> str | None:
        cfg = self.config
        if interrupt.requested:
            return "interrupted"
        if cfg.max_steps is not None and self.step >= cfg.max_steps:
            return "max_steps"
        if cfg.max_time is not None and time.perf_counter() - started >= cfg.max_time:
            return "max_time"
        return None

    def _end_epoch(self) -> str | None:
        metrics = self.task.evaluate(self.model, "valid")
        self.last_valid = metrics
        self.log.write("valid", self.step, self.epoch, **metrics, lr=self.schedule.lr_for_epoch(self.epoch))
        value = metrics[self.task.metric]
        self.schedule.observe(value)
        if self.best is None or value < self.best:
            self.best, self.bad_epochs = value, 0
            if self.run_dir is not None:
                write_tensors(self.run_dir / self.BEST, self.model.state_dict())
        else:
            self.bad_epochs += 1
        self.epoch, self.index, self.carry = self.epoch + 1, 0, None
        patience = self.config.early_stopping
        self.early_stopped = patience is not None and self.bad_epochs >= patience
        self.save()
        return "early stopping" if self.early_stopped else None


def _progress(total: int, initial: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm
    return tqdm(total=total, initial=initial, desc=desc, disable=not enabled, unit="batch",
                dynamic_ncols=True, leave=True)
