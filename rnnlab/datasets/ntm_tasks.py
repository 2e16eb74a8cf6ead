"""The Neural Turing Machine's algorithmic tasks (Graves et al. 2014, section 4), generated in code:
copy, repeat copy and associative recall over random bit vectors.

Every generator returns a `BitBatch` of time-major tensors, the same task length for the whole
batch (so no padding), and takes a `torch.Generator`, so a seed reproduces the data exactly:

    inputs  (T, B, input_width)    the bits plus the task's marker channels
    targets (T, B, output_width)   0/1; only the steps where `mask` is true are scored
    mask    (T, B) bool            the output phase

Layouts (bits = 8 for copy and repeat copy, 6 for recall, as in the paper):

- copy: L bit vectors, one step with the delimiter channel set, then L blank steps during which
  the L vectors are to be output. Input bits + 1 channels, output bits.
- repeat copy: L bit vectors, one step whose delimiter channel is set and whose count channel holds
  repeats / `REPEAT_SCALE`, then the sequence output `repeats` times followed by one step with the
  end-of-output channel set (the network must count). Input bits + 2, output bits + 1.
- associative recall: `items` items of `item_length` vectors, each preceded by a step with the
  item delimiter set; a query item (one of all but the last) between two steps with the query
  delimiter set; then the item that followed the query in the list is to be output. Input bits + 2,
  output bits.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

NTM_TASKS = ("copy", "repeat-copy", "recall")
REPEAT_SCALE = 10.0  # the count channel holds repeats / 10, so training counts 1–10 lie in (0, 1]


class BitBatch(NamedTuple):
    inputs: Tensor   # (T, B, input_width) float
    targets: Tensor  # (T, B, output_width) float 0/1
    mask: Tensor     # (T, B) bool: steps that are scored


def _check(name: str, **values: int) -> None:
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}: {key} must be an int >= 1, got {value!r}")


def _bits(shape, generator) -> Tensor:
    return torch.randint(0, 2, shape, generator=generator).float()


def copy_batch(batch: int, length: int, bits: int = 8, generator: torch.Generator | None = None) -> BitBatch:
    """Copy: see L = `length` vectors, then the delimiter, then reproduce them (T = 2L + 1)."""
    _check("copy_batch", batch=batch, length=length, bits=bits)
    return copy_from(_bits((length, batch, bits), generator))


def copy_from(seq: Tensor) -> BitBatch:
    """The copy layout of given sequences `seq` (L, B, bits) of 0/1."""
    length, batch, bits = seq.shape
    T = 2 * length + 1
    inputs = torch.zeros(T, batch, bits + 1)
    inputs[:length, :, :bits] = seq
    inputs[length, :, bits] = 1.0
    targets = torch.zeros(T, batch, bits)
    targets[length + 1:] = seq
    mask = torch.zeros(T, batch, dtype=torch.bool)
    mask[length + 1:] = True
    return BitBatch(inputs, targets, mask)


def repeat_copy_batch(batch: int, length: int, repeats: int, bits: int = 8,
                      generator: torch.Generator | None = None) -> BitBatch:
    """Repeat copy: L vectors, the delimiter with the count, then the sequence `repeats` times and
    an end marker (T = L + 1 + L·repeats + 1)."""
    _check("repeat_copy_batch", batch=batch, length=length, repeats=repeats, bits=bits)
    return repeat_copy_from(_bits((length, batch, bits), generator), repeats)


def repeat_copy_from(seq: Tensor, repeats: int) -> BitBatch:
    """The repeat-copy layout of given sequences `seq` (L, B, bits) of 0/1."""
    length, batch, bits = seq.shape
    start = length + 1
    T = start + length * repeats + 1
    inputs = torch.zeros(T, batch, bits + 2)
    inputs[:length, :, :bits] = seq
    inputs[length, :, bits] = 1.0
    inputs[length, :, bits + 1] = repeats / REPEAT_SCALE
    targets = torch.zeros(T, batch, bits + 1)
    targets[start:T - 1, :, :bits] = seq.repeat(repeats, 1, 1)
    targets[T - 1, :, bits] = 1.0
    mask = torch.zeros(T, batch, dtype=torch.bool)
    mask[start:] = True
    return BitBatch(inputs, targets, mask)


def recall_batch(batch: int, items: int, item_length: int = 3, bits: int = 6,
                 generator: torch.Generator | None = None) -> BitBatch:
    """Associative recall: `items` items, a query (one of the first items − 1), then the item after
    it (T = items·(item_length + 1) + item_length + 2 + item_length)."""
    _check("recall_batch", batch=batch, items=items, item_length=item_length, bits=bits)
    if items < 2:
        raise ValueError(f"recall_batch: items must be >= 2 (a query needs a next item), got {items}")
    data = _bits((items, item_length, batch, bits), generator)
    return recall_from(data, torch.randint(0, items - 1, (batch,), generator=generator))


def recall_from(data: Tensor, query: Tensor) -> BitBatch:
    """The recall layout of given items `data` (items, K, B, bits) of 0/1, asking in row b for the
    item after item `query[b]` (< items − 1)."""
    items, K, batch, bits = data.shape
    cols = torch.arange(batch)
    listed = items * (K + 1)
    T = listed + K + 2 + K
    inputs = torch.zeros(T, batch, bits + 2)
    for i in range(items):  # the item layout (a handful of items), not the batch
        inputs[i * (K + 1), :, bits] = 1.0
        inputs[i * (K + 1) + 1:(i + 1) * (K + 1), :, :bits] = data[i]
    inputs[listed, :, bits + 1] = 1.0
    inputs[listed + 1:listed + 1 + K, :, :bits] = data[query, :, cols].transpose(0, 1)  # (K, B, bits)
    inputs[listed + 1 + K, :, bits + 1] = 1.0
    targets = torch.zeros(T, batch, bits)
    targets[T - K:] = data[query + 1, :, cols].transpose(0, 1)
    mask = torch.zeros(T, batch, dtype=torch.bool)
    mask[T - K:] = True
    return BitBatch(inputs, targets, mask)


def widths(task: str, bits: int) -> tuple[int, int]:
    """(input width, output width) of a task's batches."""
    if task == "copy":
        return bits + 1, bits
    if task == "repeat-copy":
        return bits + 2, bits + 1
    if task == "recall":
        return bits + 2, bits
    raise ValueError(f"unknown NTM task {task!r}; choose one of: {', '.join(NTM_TASKS)}")


def make_batch(task: str, batch: int, size: int, *, bits: int, repeats: int = 1, item_length: int = 3,
               generator: torch.Generator | None = None) -> BitBatch:
    """One batch of `task` whose size is `size`: the sequence length (copy, repeat copy) or the
    number of items (recall)."""
    if task == "copy":
        return copy_batch(batch, size, bits, generator)
    if task == "repeat-copy":
        return repeat_copy_batch(batch, size, repeats, bits, generator)
    if task == "recall":
        return recall_batch(batch, size, item_length, bits, generator)
    raise ValueError(f"unknown NTM task {task!r}; choose one of: {', '.join(NTM_TASKS)}")
