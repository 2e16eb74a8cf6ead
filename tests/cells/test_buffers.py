"""The whole-sequence buffer pool (rnnlab/cells/_buffers.py): a block is handed out again only when
nothing references it, and training through pooled buffers gives the gradients of plain allocation."""
from __future__ import annotations

import threading

import pytest
import torch

from rnnlab import GRUCell, LSTMCell, Recurrent
from rnnlab.cells import _buffers as buffers

BIG = (64, 32, 256)  # 2 MB of float32: pooled


@pytest.fixture(autouse=True)
def fresh_pool(monkeypatch):
    monkeypatch.delenv(buffers.ENV, raising=False)
    buffers.clear()
    yield
    buffers.clear()


def test_a_released_block_is_reused():
    like = torch.empty(0)
    a = buffers.empty(BIG, like)
    ptr = a.data_ptr()
    del a
    b = buffers.empty(BIG, like)
    assert b.data_ptr() == ptr and b.shape == BIG and b.is_contiguous()
    assert buffers.held_bytes() == 64 * 32 * 256 * 4


def test_a_block_still_referenced_is_not_handed_out():
    like = torch.empty(0)
    a = buffers.empty(BIG, like)
    view = a[3:5]  # a view keeps the storage in use
    ptr = a.data_ptr()
    del a
    b = buffers.empty(BIG, like)
    ptr_b = b.data_ptr()
    assert ptr_b != ptr
    del view, b  # both free now: the next request takes one of them
    assert buffers.empty(BIG, like).data_ptr() in (ptr, ptr_b) and buffers.held_bytes() == 2 * 64 * 32 * 256 * 4


def test_fitting_sizes_dtypes_and_small_buffers():
    a = buffers.empty(BIG, torch.empty(0))
    ptr = a.data_ptr()
    del a
    # a smaller request of at least half the block takes it, in another dtype too
    b = buffers.empty((32, 32, 256), torch.empty(0, dtype=torch.float64))
    assert b.data_ptr() == ptr and b.dtype == torch.float64
    del b
    assert buffers.empty((16, 32, 256), torch.empty(0)).data_ptr() != ptr  # under half: a new block
    small = buffers.empty((4, 4), torch.empty(0))
    assert small.shape == (4, 4) and buffers.held_bytes() == (64 + 16) * 32 * 256 * 4  # small ones are not kept


def test_limit_and_switch_off(monkeypatch):
    monkeypatch.setenv(buffers.ENV, "3")  # 3 MB: one 2 MB block fits, two do not
    kept = [buffers.empty(BIG, torch.empty(0)) for _ in range(3)]
    assert buffers.held_bytes() <= 3 * 2**20
    del kept
    monkeypatch.setenv(buffers.ENV, "0")
    buffers.clear()
    buffers.empty(BIG, torch.empty(0))
    assert buffers.held_bytes() == 0
    monkeypatch.setenv(buffers.ENV, "lots")
    with pytest.raises(ValueError, match=buffers.ENV):
        buffers.empty(BIG, torch.empty(0))


def gradients(cell, xs):
    """Two forwards kept alive (gradient accumulation over two micro-batches), then one backward."""
    layer, loss = Recurrent(cell, fused=True), 0
    for x in xs:
        y = layer(x)[0]
        loss = loss + (y * torch.linspace(-1, 1, y.shape[-1])).sum()
    return torch.autograd.grad(loss, list(cell.parameters()))


@pytest.mark.parametrize("cls, options", [(LSTMCell, dict(peephole=True)), (LSTMCell, dict(layer_norm=True)), (GRUCell, {})])
def test_graphs_alive_together_give_plain_allocation_gradients(cls, options, monkeypatch):
    """Several graphs hold pooled buffers at once (each forward's saved tensors stay in use until its
    backward): the gradients equal those with the pool off."""
    torch.manual_seed(0)
    cell = cls(8, 128, **options)
    g = torch.Generator().manual_seed(1)
    xs = [torch.randn(40, 32, 8, generator=g) for _ in range(3)]  # (T, B, 4H) buffers of 2.6 MB
    pooled = gradients(cell, xs)
    assert buffers.held_bytes() > 0
    pooled_again = gradients(cell, xs)  # now from reused blocks
    monkeypatch.setenv(buffers.ENV, "0")
    plain = gradients(cell, xs)
    for a, b, c in zip(pooled, pooled_again, plain):
        torch.testing.assert_close(a, c, atol=0, rtol=0)
        torch.testing.assert_close(b, c, atol=0, rtol=0)


def test_threads_share_the_pool_safely():
    torch.manual_seed(0)
    cell = LSTMCell(8, 128, peephole=True)  # (the plain cell at this size runs torch's kernel)
    g = torch.Generator().manual_seed(1)
    xs = [[torch.randn(40, 32, 8, generator=g)] for _ in range(4)]
    expected = [gradients(cell, x) for x in xs]
    results = [None] * len(xs)

    def run(k):
        for _ in range(3):
            results[k] = gradients(cell, xs[k])

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(xs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got, want in zip(results, expected):
        for a, b in zip(got, want):
            torch.testing.assert_close(a, b, atol=0, rtol=0)
