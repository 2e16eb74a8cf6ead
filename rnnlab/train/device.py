"""Where a model runs (`--device cpu|cuda|auto`) and in which precision (`--amp off|bf16|fp16`).

`resolve_device("auto")` is the GPU of this process when CUDA is there (under torchrun, the one
of its LOCAL_RANK), else the CPU; "cuda" without a GPU is a ConfigError, not a silent CPU run.

Mixed precision runs the forward pass under `torch.autocast`: matrix products in bf16 or fp16,
the weights, optimizer and loss kept in float32. fp16's narrow exponent underflows small
gradients, so it needs loss scaling (`torch.amp.GradScaler`: the loss is multiplied by a scale
before backward, gradients divided by it before clipping, and an update whose gradients
overflowed is skipped while the scale is lowered). bf16 has float32's exponent and needs none.
fp16 is CUDA-only; bf16 also runs on CPUs (slowly on most: it is for checking the path).

Checkpoints are device-free: tensors are written from the CPU (rnnlab.train.checkpoint) and
read back into a model wherever it lives, so a run trained on a GPU loads on a CPU and back;
`to_device` moves what a checkpoint restores beside the weights (the carried state).
"""
from __future__ import annotations

import contextlib
import os
from typing import Any

import torch
from torch import Tensor

from rnnlab.errors import ConfigError

DEVICES = ("auto", "cpu", "cuda")
AMP = ("off", "bf16", "fp16")
AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def cuda_available() -> bool:
    return torch.cuda.is_available()


def resolve_device(name: str, local_rank: int | None = None) -> torch.device:
    """The torch device of `--device name`: "cpu", "cuda" (this process's GPU) or "auto" (CUDA
    when there is a GPU). `local_rank` (default: torchrun's LOCAL_RANK, else 0) picks the GPU."""
    if name not in DEVICES:
        raise ConfigError(f"unknown device {name!r}: device must be one of: {', '.join(DEVICES)}")
    if name == "cpu" or (name == "auto" and not cuda_available()):
        return torch.device("cpu")
    if not cuda_available():
        raise ConfigError("--device cuda: no CUDA device is available (torch.cuda.is_available() is False; "
                          f"this torch is {torch.__version__}); use --device cpu or auto")
    rank = int(os.environ.get("LOCAL_RANK", "0")) if local_rank is None else local_rank
    count = torch.cuda.device_count()
    if rank >= count:
        raise ConfigError(f"process {rank} of this machine needs GPU {rank} but there are only {count}: "
                          f"start at most {count} processes per machine (--nproc-per-node)")
    return torch.device("cuda", rank)


def add_device_flag(parser) -> None:
    """`--device` for the commands that run a trained model (eval, predict, generate, tag, ..., explore)."""
    parser.add_argument("--device", choices=DEVICES, default="auto",
                        help="where the model runs: cpu, cuda or auto (cuda when there is a GPU; default auto)")


def load_on(recipe, run_dir, weights: str, device: str):
    """`recipe.load(run_dir, weights)` with the model moved to `--device` (the weights are read on
    the CPU, so a run trained on a GPU loads anywhere)."""
    where = resolve_device(device)  # before loading: a missing GPU is the error, not the weights
    trained = recipe.load(run_dir, weights)
    trained.model.to(where)
    return trained


def check_amp(amp: str, device: torch.device) -> None:
    """Refuse a precision the device cannot run (fp16 autocast with loss scaling is CUDA-only)."""
    if amp not in AMP:
        raise ConfigError(f"unknown amp {amp!r}: amp must be one of: {', '.join(AMP)}")
    if amp == "fp16" and device.type != "cuda":
        raise ConfigError("--amp fp16 needs a CUDA device (loss-scaled float16 is a GPU feature); "
                          "use --amp bf16 or off on a CPU")


def check_options(options) -> torch.device:
    """The device of a run's options (`device`, `amp`), checked before any data is read."""
    where = resolve_device(options.device)
    check_amp(options.amp, where)
    return where


def autocast(amp: str, device: torch.device):
    """The context the forward pass runs in: autocast to bf16/fp16, or nothing for "off"."""
    if amp == "off":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=AMP_DTYPES[amp])


def make_scaler(amp: str, device: torch.device) -> "torch.amp.GradScaler | None":
    """The loss scaler fp16 needs (None for bf16 and off: their exponent range is float32's)."""
    if amp != "fp16":
        return None
    return torch.amp.GradScaler(device.type)


def to_device(value: Any, device: torch.device) -> Any:
    """`value` (a tensor, or nested tuples / lists / dicts of them, e.g. a carried state) on `device`."""
    if isinstance(value, Tensor):
        return value.to(device)
    if isinstance(value, tuple):
        moved = [to_device(v, device) for v in value]
        return type(value)(*moved) if hasattr(value, "_fields") else tuple(moved)
    if isinstance(value, list):
        return [to_device(v, device) for v in value]
    if isinstance(value, dict):
        return {k: to_device(v, device) for k, v in value.items()}
    return value
