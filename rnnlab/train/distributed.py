"""Data-parallel training through torchrun and DistributedDataParallel: nothing home-made.

`torchrun --nproc-per-node N -m rnnlab train ...` starts N copies of the command; torchrun gives
each RANK, WORLD_SIZE, LOCAL_RANK and the rendezvous address in its environment. `setup(device)`
joins them into one process group — backend NCCL when the processes run on GPUs, gloo on CPUs —
and `wrap(model)` puts the model in DistributedDataParallel, which averages the gradients over
the processes during backward (bucketed all-reduce). Every process therefore applies the same
update to the same weights; what differs is the data each one reads (its *shard*: the task's
`shard(rank, world_size)`).

The trainer keeps the processes in step with a few small collectives, all here:
`all_sum` (the token counts that weight each process's loss, so that W processes × batch B are one
process × batch W·B exactly), `any_true` (stop together: Ctrl-C or --max-time on any process),
`broadcast` (process 0's validation metrics: every process takes the same early-stopping and
schedule decision) and `gather` (each process's carried state and RNGs, into process 0's
checkpoint). Process 0 alone writes files and shows progress.

When a process dies the others must not wait forever: gloo and NCCL fail a collective whose peer
closed its connection, and torchrun sends the survivors SIGTERM; both surface as `PeerFailure`
(or a torch.distributed error, `is_peer_failure`), which the trainer turns into a one-line error
naming the last intact checkpoint.
"""
from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from rnnlab.errors import ConfigError
from rnnlab.train.device import resolve_device

TIMEOUT = datetime.timedelta(minutes=30)  # a collective waits this long for a process that hangs (not dies)


@dataclass(frozen=True)
class Context:
    """This process's place in the run: rank (0 writes), world_size (processes), local_rank (its
    GPU on its machine), backend ("gloo", "nccl", or None when alone)."""
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


class PeerFailure(RuntimeError):
    """Raised in a process that torchrun stopped (SIGTERM) because another process of the run failed."""


def launched() -> bool:
    """Whether torchrun (or another launcher setting its variables) started this process as one of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def under_launcher() -> bool:
    """Whether torchrun started this process (even as the only one)."""
    return "TORCHELASTIC_RUN_ID" in os.environ or "RANK" in os.environ


def current() -> Context:
    """This process's context: from the initialised process group, else a single process."""
    if not (dist.is_available() and dist.is_initialized()):
        return Context()
    return Context(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")),
                   dist.get_backend())


def setup(device: str = "auto") -> Context:
    """Join the process group torchrun's environment describes (no-op for a single process).

    The backend follows the device: NCCL for GPUs, gloo for CPUs."""
    if dist.is_available() and dist.is_initialized():
        return current()
    if not launched():
        return Context()
    if not dist.is_available():
        raise ConfigError("this torch was built without torch.distributed; run one process")
    for name in ("RANK", "MASTER_ADDR", "MASTER_PORT"):
        if name not in os.environ:
            raise ConfigError(f"WORLD_SIZE is set but {name} is not: start several processes with torchrun "
                              "(`torchrun --nproc-per-node N -m rnnlab train ...`) or `rnnlab train --nproc N`")
    where = resolve_device(device, int(os.environ.get("LOCAL_RANK", "0")))
    backend = "nccl" if where.type == "cuda" else "gloo"
    if where.type == "cuda":
        torch.cuda.set_device(where)
    dist.init_process_group(backend, timeout=TIMEOUT)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminated)
    return current()


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def _terminated(signum, frame):
    raise PeerFailure("stopped by torchrun (SIGTERM), which stops every process when one of them fails")


def is_peer_failure(e: BaseException) -> bool:
    """Whether `e` means another process is gone: a torch.distributed error, a collective whose
    connection was closed (gloo reports some as plain RuntimeErrors), or torchrun's SIGTERM."""
    if isinstance(e, (PeerFailure, dist.DistError)):
        return True
    text = str(e)
    return isinstance(e, RuntimeError) and any(w in text for w in (
        "gloo", "Gloo", "NCCL", "Connection closed", "Connection reset", "Broken pipe", "ProcessGroup"))


# --- the model --------------------------------------------------------------------------------

class DataParallel(nn.parallel.DistributedDataParallel):
    """DistributedDataParallel that also answers the wrapped model's own attributes (`model.crf`,
    `model.pad_index`): tasks use those, and must see the same model alone or wrapped."""

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.module, name)


def wrap(model: nn.Module, ctx: Context, device: torch.device) -> nn.Module:
    """`model` in DistributedDataParallel when there are several processes, else itself.

    DDP starts by broadcasting process 0's weights, so every process begins from the same ones."""
    if not ctx.active:
        return model
    return DataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


# --- collectives (each a no-op for a single process) ------------------------------------------

def _device() -> torch.device:
    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")


def all_sum(values: list[float]) -> list[float]:
    """The sums over processes of each of `values` (float64)."""
    if not current().active:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=_device())
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.tolist()


def any_true(*flags: bool) -> list[bool]:
    """For each flag, whether it is true on any process."""
    if not current().active:
        return [bool(f) for f in flags]
    t = torch.tensor([float(f) for f in flags], dtype=torch.float64, device=_device())
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return [bool(v) for v in t.tolist()]


def broadcast(obj: Any) -> Any:
    """Process 0's `obj` on every process."""
    if not current().active:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather(obj: Any) -> list | None:
    """Every process's `obj`, in rank order, on process 0 (None elsewhere). Tensors travel on the CPU."""
    ctx = current()
    if not ctx.active:
        return [obj]
    out = [None] * ctx.world_size if ctx.is_main else None
    dist.gather_object(obj, out, dst=0)
    return out


def barrier() -> None:
    if current().active:
        dist.barrier()


# --- starting processes -----------------------------------------------------------------------

def launch(nproc: int, argv: list[str]) -> int:
    """Run `rnnlab ARGV` as `nproc` processes on this machine through torchrun (`--standalone`: its
    own rendezvous on a free port, so runs side by side do not collide); its exit status."""
    if under_launcher():
        raise ConfigError("--nproc starts processes itself; under torchrun drop it (torchrun's --nproc-per-node "
                          "sets the number)")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
           "-m", "rnnlab", *argv]
    print(f"rnnlab: starting {nproc} processes: torchrun --standalone --nproc-per-node {nproc} -m rnnlab "
          f"{' '.join(argv)}", file=sys.stderr)
    proc = subprocess.Popen(cmd)
    while True:
        try:
            return proc.wait()
        except KeyboardInterrupt:  # the workers got Ctrl-C too: they checkpoint and stop; wait for them
            continue


def strip_nproc(argv: list[str]) -> tuple[list[str], int | None]:
    """`argv` without `--nproc N` / `--nproc=N`, and N."""
    out, n, i = [], None, 0
    while i < len(argv):
        a = argv[i]
        if a == "--nproc" and i + 1 < len(argv):
            n, i = argv[i + 1], i + 2
            continue
        if a.startswith("--nproc="):
            n = a.split("=", 1)[1]
        else:
            out.append(a)
        i += 1
    try:
        return out, None if n is None else int(n)
    except ValueError:
        raise ConfigError(f"--nproc must be a number of processes, got {n!r}") from None
