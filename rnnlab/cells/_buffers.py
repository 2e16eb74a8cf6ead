"""Whole-sequence buffers kept from one call to the next (a small pool), so that a training step
does not hand its multi-MB buffers back to the system only to fault them in again the next step.

glibc returns a freed block above its mmap threshold to the system, and trims the top of its heap
once enough of it is free; the next step's buffers of the same sizes are then fresh pages, and
the first touch of each 4 KB page is a page fault (the kernel zeroes the page). The layer-norm
LSTM at (T, B, H) = (100, 32, 256) took 1,400-3,000 faults a step that way, about 5 % of its time
alone in a process and more when other work (torch.nn's oneDNN kernels, an autograd loop) churns
the heap between its steps (docs/speed.md).

`empty(shape, like)` returns an uninitialised tensor. For a large CPU buffer its storage comes
from the pool: a kept block of a fitting size (at least the request, at most twice it) that
nothing else references any more — no tensor, view, output or tensor saved for backward — or else
a new block, which the pool then keeps. A block in use is never handed out twice: the check is
the storage's reference count, under a lock. The pool keeps at most RNNLAB_BUFFER_POOL_MB (read at
every call; default 256, 0 turns it off: plain allocation) and drops the blocks unused longest
first; `clear()` drops them all. Small buffers (below 256 KB, which glibc serves from its heap
without faults) and CUDA tensors are allocated as usual.
"""
from __future__ import annotations

import math
import os
import threading

import torch
from torch import Tensor

ENV = "RNNLAB_BUFFER_POOL_MB"
DEFAULT_MB = 256
SMALLEST = 256 * 1024  # bytes: smaller buffers are allocated as usual


class _Block:
    __slots__ = ("storage", "nbytes", "used")

    def __init__(self, storage: torch.UntypedStorage, used: int):
        self.storage, self.nbytes, self.used = storage, storage.nbytes(), used


_lock = threading.Lock()
_blocks: list[_Block] = []
_clock = 0


def limit_bytes() -> int:
    """The pool's size limit from RNNLAB_BUFFER_POOL_MB (0: no pool)."""
    try:
        return max(0, int(float(os.environ.get(ENV, DEFAULT_MB)) * 2**20))
    except ValueError:
        raise ValueError(f"{ENV} must be a number of megabytes, got {os.environ[ENV]!r}") from None


def _unused(block: _Block) -> bool:
    return torch._C._storage_Use_Count(block.storage._cdata) == 1  # only the pool holds it


def empty(shape, like: Tensor) -> Tensor:
    """An uninitialised tensor of `shape` with like's dtype and device (see the module docstring)."""
    nbytes = math.prod(shape) * like.element_size()
    limit = limit_bytes() if like.device.type == "cpu" and nbytes >= SMALLEST else 0
    if nbytes > limit:
        return like.new_empty(shape)
    global _clock
    with _lock:
        _clock += 1
        best = None
        for block in _blocks:
            if nbytes <= block.nbytes <= 2 * nbytes and (best is None or block.nbytes < best.nbytes) and _unused(block):
                best = block
        if best is None:
            best = _Block(torch.UntypedStorage(nbytes), _clock)
            _blocks.append(best)
            _evict(limit)
        best.used = _clock
        return torch.empty(0, dtype=like.dtype).set_(best.storage, 0, tuple(shape))


def _evict(limit: int):
    """Forget the blocks unused longest until the pool holds at most `limit` bytes (a block still
    in use stays alive with its users and is freed as usual after them)."""
    total = sum(block.nbytes for block in _blocks)
    for block in sorted(_blocks, key=lambda b: b.used):
        if total <= limit:
            break
        _blocks.remove(block)
        total -= block.nbytes


def clear():
    """Drop every kept block (memory still in use is freed as usual when its users are done)."""
    with _lock:
        _blocks.clear()


def held_bytes() -> int:
    """Bytes the pool keeps (in use or not)."""
    with _lock:
        return sum(block.nbytes for block in _blocks)
