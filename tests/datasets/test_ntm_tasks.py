"""The NTM tasks: deterministic by seed, and each layout holds what the paper's task asks for."""
from __future__ import annotations

import pytest
import torch

from rnnlab.datasets.ntm_tasks import (REPEAT_SCALE, copy_batch, make_batch, recall_batch, repeat_copy_batch, widths)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("task", ["copy", "repeat-copy", "recall"])
def test_same_seed_same_data_other_seed_other_data(task):
    a = make_batch(task, 4, 3, bits=5, repeats=2, generator=gen(1))
    b = make_batch(task, 4, 3, bits=5, repeats=2, generator=gen(1))
    c = make_batch(task, 4, 3, bits=5, repeats=2, generator=gen(2))
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a.inputs, c.inputs)
    assert (a.inputs.shape[-1], a.targets.shape[-1]) == widths(task, 5)


def test_copy_layout():
    b = copy_batch(3, 4, bits=8, generator=gen())
    assert b.inputs.shape == (9, 3, 9) and b.targets.shape == (9, 3, 8)
    assert torch.equal(b.targets[5:], b.inputs[:4, :, :8])       # the output is the input
    assert (b.inputs[4, :, 8] == 1).all() and (b.inputs[:4, :, 8] == 0).all() and (b.inputs[5:] == 0).all()
    assert b.mask[:5].sum() == 0 and b.mask[5:].all()


def test_repeat_copy_layout():
    b = repeat_copy_batch(2, 3, 4, bits=5, generator=gen())
    T = 3 + 1 + 12 + 1
    assert b.inputs.shape == (T, 2, 7) and b.targets.shape == (T, 2, 6)
    seq = b.inputs[:3, :, :5]
    for r in range(4):
        assert torch.equal(b.targets[4 + 3 * r:4 + 3 * (r + 1), :, :5], seq)
    assert (b.inputs[3, :, 6] == 4 / REPEAT_SCALE).all()
    assert (b.targets[-1, :, 5] == 1).all() and (b.targets[:-1, :, 5] == 0).all()
    assert b.mask[4:].all() and not b.mask[:4].any()


def test_recall_answer_is_the_item_after_the_query():
    items, K, bits = 5, 3, 6
    b = recall_batch(16, items, K, bits, generator=gen(3))
    listed = items * (K + 1)
    for row in range(16):
        stored = [b.inputs[i * (K + 1) + 1:(i + 1) * (K + 1), row, :bits] for i in range(items)]
        query = b.inputs[listed + 1:listed + 1 + K, row, :bits]
        hits = [i for i in range(items - 1) if torch.equal(stored[i], query)]
        assert hits, "the query is one of the stored items (not the last)"
        assert torch.equal(b.targets[-K:, row], stored[hits[0] + 1])
    assert (b.inputs[listed, :, bits + 1] == 1).all() and (b.inputs[listed + K + 1, :, bits + 1] == 1).all()
    assert b.mask[-K:].all() and not b.mask[:-K].any()


def test_bad_sizes_are_named():
    with pytest.raises(ValueError, match="length"):
        copy_batch(2, 0)
    with pytest.raises(ValueError, match="items must be >= 2"):
        recall_batch(2, 1)
    with pytest.raises(ValueError, match="unknown NTM task"):
        make_batch("sort", 2, 3, bits=8)
