"""Checkpoints: safetensors for tensors, JSON for everything else — loading never unpickles.

A checkpoint is a directory holding `model.safetensors` (the model's state_dict),
`trainer.safetensors` (optimizer moments, RNG state, the carried recurrent state) and
`trainer.json` (step counters, schedule, Python/NumPy RNG states, and the structure that puts the
tensors back in place). Arbitrary nested dicts / lists / tuples of tensors and plain values are
stored by `flatten`: each tensor becomes a `{"__tensor__": key}` reference into the safetensors file.

Every file carries a digest, checked on every read, so flipped bytes are an error naming the file
instead of a resumed run on corrupted weights: a safetensors file holds the sha256 of its tensors
(names, dtypes, shapes, bytes) in its metadata; `trainer.json` holds the sha256 of its state. Files
written before digests existed (rnnlab 0.1) have none and are read unchecked. The trainer state's
positions and counters are checked for type and range (`check_trainer_state`).

Writes are atomic: the new checkpoint is written to `<name>.tmp/`, flushed to disk, then swapped
in by renames, so a crash leaves either the old or the new checkpoint, never half of one. If a
crash hits between the two renames, `<name>.old/` is still complete and `read_checkpoint` uses it.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from rnnlab.errors import CheckpointError

FORMAT = "rnnlab-checkpoint"
VERSION = 1


# --- nested values <-> (JSON, tensors) ---------------------------------------------------------

def flatten(obj: Any, tensors: dict[str, Tensor], prefix: str = "t") -> Any:
    """A JSON-able copy of `obj` with every tensor moved into `tensors` under a fresh key."""
    if isinstance(obj, Tensor):
        key = f"{prefix}.{len(tensors)}"
        tensors[key] = obj.detach().cpu().contiguous().clone()
        return {"__tensor__": key}
    if isinstance(obj, tuple):
        return {"__tuple__": [flatten(v, tensors, prefix) for v in obj]}
    if isinstance(obj, list):
        return [flatten(v, tensors, prefix) for v in obj]
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: flatten(v, tensors, prefix) for k, v in obj.items()}
        # torch's optimizer state is keyed by int parameter indices: keep the key types
        return {"__items__": [[flatten(k, tensors, prefix), flatten(v, tensors, prefix)] for k, v in obj.items()]}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot store a {type(obj).__name__} in a checkpoint")


def unflatten(obj: Any, tensors: dict[str, Tensor]) -> Any:
    if isinstance(obj, list):
        return [unflatten(v, tensors) for v in obj]
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            key = obj["__tensor__"]
            if key not in tensors:
                raise CheckpointError(f"checkpoint is corrupt: tensor {key!r} is referenced but missing")
            return tensors[key]
        if "__tuple__" in obj:
            return tuple(unflatten(v, tensors) for v in obj["__tuple__"])
        if "__items__" in obj:
            return {unflatten(k, tensors): unflatten(v, tensors) for k, v in obj["__items__"]}
        return {k: unflatten(v, tensors) for k, v in obj.items()}
    return obj


# --- atomic file writes ------------------------------------------------------------------------

def _fsync(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def write_json(path: str | Path, data: Any) -> None:
    """Write JSON atomically (temp file, fsync, rename)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_json(path: str | Path, what: str) -> Any:
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise CheckpointError(f"{what} not found: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{what} {path} is corrupt ({e})") from None


def tensors_digest(tensors: dict[str, Tensor]) -> str:
    """sha256 of tensors by name: each name, dtype, shape and the raw bytes (independent of file layout)."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(json.dumps([name, str(t.dtype), list(t.shape)]).encode("utf-8"))
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def state_digest(state: Any) -> str:
    """sha256 of a JSON value in canonical form (sorted keys, no spaces)."""
    return hashlib.sha256(json.dumps(state, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()


def write_tensors(path: str | Path, tensors: dict[str, Tensor]) -> None:
    """Write a safetensors file atomically, with the digest of its tensors in its metadata."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    save_file(tensors, str(tmp), metadata={"format": FORMAT, "sha256": tensors_digest(tensors)})
    _fsync(tmp)
    os.replace(tmp, path)


def read_tensors(path: str | Path, what: str = "weights") -> dict[str, Tensor]:
    """The tensors of a safetensors file, verified against its digest when it has one."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{what} not found: {path}")
    try:
        with safe_open(str(path), "pt") as f:
            expected = (f.metadata() or {}).get("sha256")
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{what} {path} is corrupt or not a safetensors file ({e})") from None
    if expected is not None and tensors_digest(tensors) != expected:
        raise CheckpointError(f"{what} {path} is corrupt: its contents do not match the digest written with it "
                              f"(a damaged disk or copy?); restore it from a backup or retrain")
    return tensors


def load_weights(model: nn.Module, path: str | Path) -> None:
    """Load a state_dict saved by `write_tensors(path, model.state_dict())`, checking names, shapes
    and that every parameter is finite (a model whose weights are NaN predicts nothing)."""
    tensors = read_tensors(path)
    upgrade = getattr(model, "upgrade_state_dict", None)  # keys an earlier version of the model wrote
    if upgrade is not None:
        tensors = upgrade(tensors)
    own = model.state_dict()
    missing = sorted(set(own) - set(tensors))
    unexpected = sorted(set(tensors) - set(own))
    if missing or unexpected:
        raise CheckpointError(
            f"weights {path} do not fit this model (missing {missing[:3]}, unexpected {unexpected[:3]}); "
            "was it written for another configuration?"
        )
    for k, v in tensors.items():
        if v.shape != own[k].shape:
            raise CheckpointError(f"weights {path}: {k} has shape {tuple(v.shape)}, the model expects {tuple(own[k].shape)}")
    for k, _ in model.named_parameters():  # buffers may hold infinities on purpose (masks)
        if tensors[k].is_floating_point() and not torch.isfinite(tensors[k]).all():
            raise CheckpointError(f"weights {path}: {k} holds NaN or infinite values (the run diverged before "
                                  f"it was saved?); use other weights (--weights best / last) or retrain")
    model.load_state_dict(tensors)


# --- checkpoint directories --------------------------------------------------------------------

def write_checkpoint(directory: str | Path, model: nn.Module, trainer_state: dict) -> None:
    """Atomically replace `directory` by a checkpoint of `model` and `trainer_state`."""
    directory = Path(directory)
    tmp, old = directory.with_name(directory.name + ".tmp"), directory.with_name(directory.name + ".old")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    write_tensors(tmp / "model.safetensors", model.state_dict())
    tensors: dict[str, Tensor] = {}
    state = flatten(trainer_state, tensors)
    meta = {"format": FORMAT, "version": VERSION, "state": state, "sha256": state_digest(state)}
    write_tensors(tmp / "trainer.safetensors", tensors)
    write_json(tmp / "trainer.json", meta)
    if directory.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.rename(directory, old)
    os.rename(tmp, directory)
    shutil.rmtree(old, ignore_errors=True)


def checkpoint_dir(directory: str | Path) -> Path | None:
    """The complete checkpoint to read: `directory`, or its `.old` twin after an interrupted swap."""
    directory = Path(directory)
    if (directory / "trainer.json").is_file():
        return directory
    old = directory.with_name(directory.name + ".old")
    if (old / "trainer.json").is_file():
        return old
    return None


def read_checkpoint(directory: str | Path, model: nn.Module | None = None) -> dict:
    """The trainer state of a checkpoint; loads the weights into `model` if given."""
    found = checkpoint_dir(directory)
    if found is None:
        raise CheckpointError(f"no checkpoint in {directory}")
    meta = read_json(found / "trainer.json", "checkpoint")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{found} is not an rnnlab checkpoint")
    if meta.get("version") != VERSION:
        raise CheckpointError(f"{found} has checkpoint version {meta.get('version')}; this rnnlab reads version {VERSION}")
    if "sha256" in meta and state_digest(meta.get("state")) != meta["sha256"]:
        raise CheckpointError(f"checkpoint {found / 'trainer.json'} is corrupt or was edited: its state does not "
                              f"match the digest written with it")
    state = unflatten(meta.get("state"), read_tensors(found / "trainer.safetensors", "trainer state"))
    check_trainer_state(state, found / "trainer.json")
    if model is not None:
        load_weights(model, found / "model.safetensors")
    return state


# what `Trainer.state_dict` writes: name → (types, test of the value, what it must be)
_INT = (int,)
_STATE_FIELDS = {
    "epoch": (_INT, lambda v: 1 <= v <= 10**9, "an integer >= 1"),
    "index": (_INT, lambda v: 0 <= v <= 10**12, "an integer >= 0"),
    "step": (_INT, lambda v: 0 <= v <= 10**15, "an integer >= 0"),
    "bad_epochs": (_INT, lambda v: 0 <= v <= 10**9, "an integer >= 0"),
    "early_stopped": ((bool,), lambda v: True, "true or false"),
    "best": ((float, int, type(None)), lambda v: v is None or math.isfinite(v), "a finite number or null"),
    "last_valid": ((dict, type(None)), lambda v: True, "an object or null"),
    "optimizer": ((dict,), lambda v: True, "an object"),
    "schedule": ((dict,), lambda v: True, "an object"),
    "rng": ((dict,), lambda v: True, "an object"),
    "config": ((dict,), lambda v: True, "an object"),
}


def check_trainer_state(state: Any, file: Path) -> None:
    """Refuse a trainer state whose positions or counters have the wrong type or an impossible value.

    Checks the fields `Trainer.state_dict` writes that are present (a checkpoint may hold any
    state; a missing field is the trainer's error). Whether `index` is within the epoch depends on
    the data, so only the trainer can check that."""
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {file} is corrupt: its state is not an object")
    for name, (types, valid, what) in _STATE_FIELDS.items():
        if name not in state:
            continue
        value = state[name]
        wrong_type = not isinstance(value, types) or (isinstance(value, bool) and bool not in types)
        if wrong_type or not valid(value):
            raise CheckpointError(f"checkpoint {file} is corrupt: {name!r} must be {what}, got {value!r}")
    if "index" in state and "step" in state and state["index"] > state["step"]:  # every batch of the epoch so far was one update
        raise CheckpointError(f"checkpoint {file} is corrupt: position {state['index']} in the epoch is beyond "
                              f"the {state['step']} updates done")


def rng_state() -> dict:
    """Every RNG a training step may draw from (torch CPU / CUDA, Python, NumPy)."""
    import random

    import numpy as np
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "python": [version, list(internal), gauss],
        "numpy": [kind, torch.from_numpy(keys.astype("int64")), int(pos), int(has_gauss), float(cached)],
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    import random

    import numpy as np
    try:
        torch.set_rng_state(state["torch"])
        version, internal, gauss = state["python"]
        random.setstate((version, tuple(internal), gauss))
        kind, keys, pos, has_gauss, cached = state["numpy"]
        np.random.set_state((kind, keys.numpy().astype("uint32"), pos, has_gauss, cached))
        if "cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(list(state["cuda"]))
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"checkpoint RNG state is corrupt ({e})") from None
