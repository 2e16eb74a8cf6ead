"""The training loop. It knows nothing about the model: a *task* supplies the updates.

A task is any object with
    num_batches() -> int                                    updates per epoch (fixed)
    train_step(model, epoch, index, carry) -> StepOutput    loss of update `index` of `epoch`
    evaluate(model, split) -> dict[str, float]              metrics on a split (no gradient)
    metric: str                                             the validation metric; lower is better
`carry` is whatever the task hands from one update to the next (for a language model, the
detached recurrent state of truncated BPTT); it is None at the start of every epoch — unless the
task sets `carry_across_epochs = True` (online learning on an endless stream: the state goes on
from one pass to the next) — and is saved in checkpoints, so update `index` can be recomputed
exactly after a resume. Tasks must therefore
make update `index` depend only on (epoch, index, carry) and the RNGs, never on hidden counters.

Resume is exact: the checkpoint holds the weights, optimizer moments, schedule, the position
(epoch, index, step), the carry and every RNG state, so an interrupted-and-resumed run computes
the same losses as an uninterrupted one.

Devices and processes (rnnlab.train.device, rnnlab.train.distributed): the model is moved to
`config.device` and its forward pass runs under `config.amp`'s autocast. Under torchrun the task
is sharded (`task.shard(rank, world_size)`: each process reads its part of every update's global
batch) and the model wrapped in DistributedDataParallel. Each process's loss is weighted by its
share of the global batch's tokens (or of each of `StepOutput.terms`' counts), so that the
averaged gradient is the gradient of the global batch's loss: W processes × batch B compute the
update of one process × batch W·B. Process 0 evaluates, writes and shows progress; the others
take its validation metrics (same schedule and early stopping), stop when any process asks to,
and hand it their carried state and RNGs for the checkpoint, which records the world size.
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

from rnnlab.errors import CheckpointError, ConfigError, DistributedError, DivergedError
from rnnlab.train import distributed
from rnnlab.train.config import TrainConfig
from rnnlab.train.checkpoint import read_checkpoint, rng_state, set_rng_state, write_checkpoint, write_tensors
from rnnlab.train.device import autocast, check_amp, make_scaler, resolve_device, to_device
from rnnlab.train.metrics_log import MetricsLog
from rnnlab.train.optim import clip_gradients, make_optimizer
from rnnlab.train.schedule import Schedule


class StepOutput(NamedTuple):
    """What a task's `train_step` returns for one update."""
    loss: Tensor   # scalar: the mean loss over `tokens` (what is logged)
    tokens: int    # how many predictions the loss averages (for tokens/s and weighted means)
    carry: Any = None
    scale: float = 1.0  # the gradient is that of loss · scale (e.g. a sum over time steps)
    # a loss that is a sum of means, Σ_k sum_k / count_k, lists its (sum_k, count_k) here so that
    # several processes weigh it exactly (default: `loss` is one mean over `tokens`)
    terms: tuple = ()


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
        self.ctx = distributed.current()
        self.device = resolve_device(config.device)
        check_amp(config.amp, self.device)
        model.to(self.device)
        self.run_dir = None if run_dir is None else Path(run_dir)
        if self.run_dir is not None and self.ctx.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        self.progress = progress and self.ctx.is_main
        if self.ctx.active:
            self._shard(config.seed)
        self.net = distributed.wrap(model, self.ctx, self.device)  # what computes the training loss
        self.scaler = make_scaler(config.amp, self.device)
        self.optimizer = make_optimizer(model.parameters(), config.optimizer, config.lr,
                                        momentum=config.momentum, weight_decay=config.weight_decay)
        self.schedule = Schedule(config.schedule, base_lr=config.lr, factor=config.decay_factor,
                                 start=config.decay_start, every=config.decay_every,
                                 patience=config.plateau_patience, total=config.epochs)
        self.log = MetricsLog(self.run_dir if self.ctx.is_main else None, tensorboard=tensorboard)
        # where we are: the next update is `index` of `epoch` (1-based); `step` updates done so far
        self.epoch, self.index, self.step = 1, 0, 0
        self.carry: Any = None
        self.best: float | None = None
        self.bad_epochs = 0
        self.early_stopped = False
        self.last_valid: dict | None = None
        self.saved_step: int | None = None  # the update of the last checkpoint written

    def _shard(self, seed: int) -> None:
        """Give this process its part of the data, and its own dropout stream."""
        shard = getattr(self.task, "shard", None)
        if shard is None:
            raise ConfigError(f"task {type(self.task).__name__} cannot be trained by several processes: it has no "
                              "shard(rank, world_size) method saying which part of each batch a process reads")
        shard(self.ctx.rank, self.ctx.world_size)
        import numpy as np
        seed_everything(int(np.random.SeedSequence([seed, self.ctx.rank]).generate_state(1)[0]))

    # --- checkpoints ---------------------------------------------------------------------------

    def state_dict(self) -> dict:
        return {
            "epoch": self.epoch, "index": self.index, "step": self.step, "carry": self.carry,
            "best": self.best, "bad_epochs": self.bad_epochs, "early_stopped": self.early_stopped,
            "last_valid": self.last_valid, "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(), "rng": rng_state(), "config": self.config.to_dict(),
            "world_size": self.ctx.world_size,
            **({"scaler": self.scaler.state_dict()} if self.scaler is not None else {}),
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
        if self.scaler is not None and isinstance(state.get("scaler"), dict):
            self.scaler.load_state_dict(state["scaler"])
        ranks = state.get("ranks")
        if ranks is not None:  # several processes: each continues its own carried state and RNGs
            if not isinstance(ranks, list) or len(ranks) != self.ctx.world_size:
                raise CheckpointError(f"checkpoint in {self.run_dir} is corrupt: it holds the state of "
                                      f"{len(ranks) if isinstance(ranks, list) else 'no'} processes, not {self.ctx.world_size}")
            self.carry = ranks[self.ctx.rank]["carry"]
            set_rng_state(ranks[self.ctx.rank]["rng"])
        else:
            set_rng_state(state["rng"])
        self.carry = to_device(self.carry, self.device)

    def save(self) -> None:
        """Write the checkpoint (process 0; with several processes, every process must call this:
        each hands over its carried state and RNGs)."""
        ranks = None
        if self.ctx.active:
            ranks = distributed.gather({"carry": to_device(self.carry, torch.device("cpu")), "rng": rng_state()})
        if self.run_dir is not None and self.ctx.is_main:
            state = self.state_dict()
            state["carry"] = to_device(state["carry"], torch.device("cpu"))
            if ranks is not None:
                state["ranks"] = ranks
            write_checkpoint(self.run_dir / self.CHECKPOINT, self.model, state)
        self.saved_step = self.step

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
        self._check_world_size(state)
        try:
            self.load_state_dict(state)
        except (KeyError, TypeError) as e:
            raise CheckpointError(f"checkpoint in {self.run_dir} is corrupt (missing {e})") from None
        if self.index > self.task.num_batches():  # only the task knows an epoch's length
            raise CheckpointError(f"checkpoint in {self.run_dir} is corrupt: it stopped at update {self.index} of "
                                  f"an epoch that has {self.task.num_batches()}")
        self.log.truncate_after(self.step)
        self.saved_step = self.step

    def _check_world_size(self, state: dict) -> None:
        check_world_size(state, self.run_dir, self.ctx.world_size)

    # --- the loop ------------------------------------------------------------------------------

    def fit(self) -> dict:
        """Train until the epochs are done, early stopping, a budget (max_steps / max_time) or Ctrl-C.

        Returns a summary: `stopped` (why), `step`, `epoch`, and the last validation metrics.
        """
        cfg, started = self.config, time.perf_counter()
        stopped = "early stopping" if self.early_stopped else None
        try:
            with _Interrupt() as interrupt:
                while stopped is None and self.epoch <= cfg.epochs:
                    stopped = self._run_epoch(interrupt, started)
                    if stopped is None:
                        stopped = self._end_epoch()
                stopped = stopped or "finished"
            self.save()
        except Exception as e:
            if self.ctx.active and distributed.is_peer_failure(e):
                raise DistributedError(self._lost(e)) from e
            raise
        finally:
            self.log.close()
        return {"stopped": stopped, "step": self.step, "epochs_done": self.epoch - 1, "valid": self.last_valid}

    def _lost(self, e: BaseException) -> str:
        """What a process says when another one of the run is gone."""
        ctx, why = self.ctx, (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
        where = self.run_dir / self.CHECKPOINT if self.run_dir is not None else None
        if where is None:
            kept = "there is no run directory, so nothing was saved"
        elif self.saved_step is None:
            kept = f"no checkpoint was written yet in {where}"
        else:
            kept = (f"the last checkpoint, {where} at update {self.saved_step}, is intact: continue with "
                    f"`rnnlab resume {self.run_dir} --nproc {ctx.world_size}`")
        return (f"process {ctx.rank} of {ctx.world_size} stopped at update {self.step + 1}: another process of the "
                f"run failed or was stopped (its own error is above); {kept} [{why}]")

    def _run_epoch(self, interrupt: _Interrupt, started: float) -> str | None:
        cfg, model = self.config, self.model
        lr = self.schedule.lr_for_epoch(self.epoch)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        n = self.task.num_batches()
        bar = _progress(n, self.index, f"epoch {self.epoch}/{cfg.epochs}", self.progress)
        loss_sum, tokens, norm_max, t0 = 0.0, 0, 0.0, time.perf_counter()
        self.net.train()  # the wrapper and the model
        try:
            while self.index < n:
                with autocast(cfg.amp, self.device):
                    out = self.task.train_step(self.net, self.epoch, self.index, self.carry)
                objective, loss, step_tokens = self._objective(out)
                self.optimizer.zero_grad(set_to_none=True)
                (objective if self.scaler is None else self.scaler.scale(objective)).backward()
                if self.scaler is not None:
                    self.scaler.unscale_(self.optimizer)  # clip the true gradient, not the scaled one
                norm = clip_gradients(model.parameters(), cfg.clip_norm, cfg.clip_value)
                # with loss scaling an overflowing gradient is expected now and then: the scaler
                # skips that update and lowers the scale
                if not (math.isfinite(loss) and (math.isfinite(norm) or self.scaler is not None)):
                    raise DivergedError(
                        f"training diverged at step {self.step + 1} (loss {loss}, gradient norm {norm}); "
                        "lower the learning rate or clip gradients (--clip-norm)"
                    )
                if self.scaler is None:
                    self.optimizer.step()
                else:
                    self.scaler.step(self.optimizer)
                    self.scaler.update()
                self.carry, self.index, self.step = out.carry, self.index + 1, self.step + 1
                loss_sum, tokens = loss_sum + loss * step_tokens, tokens + step_tokens
                norm_max = max(norm_max, norm) if math.isfinite(norm) else norm_max
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

    def _objective(self, out: StepOutput) -> tuple[Tensor, float, int]:
        """(what to back-propagate, the update's loss, its tokens), over all processes.

        DDP averages gradients over the W processes, so process r back-propagates
        W · (its part of the sum of losses) / (the global count): the average is then the gradient
        of the global batch's mean loss, whatever each process's share of the tokens."""
        objective = out.loss * out.scale if out.scale != 1.0 else out.loss
        if not self.ctx.active:
            return objective, float(out.loss.detach()), out.tokens
        W, terms = self.ctx.world_size, tuple(out.terms)
        summed = distributed.all_sum([float(out.tokens), float(out.loss.detach()) * out.tokens,
                                      *(float(count) for _, count in terms),
                                      *(float(part.detach()) for part, _ in terms)])
        tokens, counts, sums = summed[0], summed[2:2 + len(terms)], summed[2 + len(terms):]
        if terms:  # Σ_k sum_k / count_k with each count the global one
            weighted = sum(part * (W / max(count, 1.0)) for (part, _), count in zip(terms, counts))
            objective = weighted * out.scale if out.scale != 1.0 else weighted
            return objective, sum(s / max(c, 1.0) for s, c in zip(sums, counts)), int(tokens)
        return objective * (W * out.tokens / max(tokens, 1.0)), summed[1] / max(tokens, 1.0), int(tokens)

    def _budget_stop(self, interrupt: _Interrupt, started: float) -> str | None:
        cfg = self.config
        interrupted = interrupt.requested
        timed_out = cfg.max_time is not None and time.perf_counter() - started >= cfg.max_time
        if self.ctx.active:  # Ctrl-C or the clock on any process stops them all at the same update
            interrupted, timed_out = distributed.any_true(interrupted, timed_out)
        if interrupted:
            return "interrupted"
        if cfg.max_steps is not None and self.step >= cfg.max_steps:
            return "max_steps"
        if timed_out:
            return "max_time"
        return None

    def _end_epoch(self) -> str | None:
        # process 0 evaluates; every process takes its numbers, so all decide alike (schedule, early stopping)
        metrics = self.task.evaluate(self.model, "valid") if self.ctx.is_main else None
        metrics = distributed.broadcast(metrics)
        self.last_valid = metrics
        self.log.write("valid", self.step, self.epoch, **metrics, lr=self.schedule.lr_for_epoch(self.epoch))
        value = metrics[self.task.metric]
        self.schedule.observe(value)
        if self.best is None or value < self.best:
            self.best, self.bad_epochs = value, 0
            if self.run_dir is not None and self.ctx.is_main:
                write_tensors(self.run_dir / self.BEST, self.model.state_dict())
        else:
            self.bad_epochs += 1
        keep = getattr(self.task, "carry_across_epochs", False)  # an endless stream goes on
        self.epoch, self.index, self.carry = self.epoch + 1, 0, self.carry if keep else None
        patience = self.config.early_stopping
        self.early_stopped = patience is not None and self.bad_epochs >= patience
        self.save()
        return "early stopping" if self.early_stopped else None


def check_world_size(state: dict, run_dir, now: int) -> None:
    """A run continues on as many processes as it started with (`state`: its checkpoint's): its
    batches, carried states and RNG streams are per process, so another number would make it a
    different run."""
    saved = state.get("world_size", 1)
    if isinstance(saved, bool) or not isinstance(saved, int) or saved < 1:
        raise CheckpointError(f"checkpoint in {run_dir} is corrupt: world_size must be an integer >= 1, got {saved!r}")
    if saved != now:
        def procs(n):
            return f"{n} process{'es' if n > 1 else ''}"
        how = (f"`rnnlab resume {run_dir} --nproc {saved}` or `torchrun --nproc-per-node {saved} -m rnnlab "
               f"resume {run_dir}`" if saved > 1 else f"`rnnlab resume {run_dir}` (one process)")
        raise ConfigError(f"cannot resume {run_dir} on {procs(now)}: it was trained on {procs(saved)} "
                          f"(each reads its own part of every batch and carries its own state), so it must "
                          f"continue on {saved}: {how}")


def _progress(total: int, initial: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm
    return tqdm(total=total, initial=initial, desc=desc, disable=not enabled, unit="batch",
                dynamic_ncols=True, leave=True)
