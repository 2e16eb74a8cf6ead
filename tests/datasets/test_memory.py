"""The synthetic memory tasks produce what their definitions say, reproducibly."""
import pytest
import torch

from rnnlab.datasets import adding_problem, copy_task


def test_adding_problem_marks_one_value_in_each_half_and_sums_them():
    x, y = adding_problem(16, 10, torch.Generator().manual_seed(0))
    assert x.shape == (10, 16, 2) and y.shape == (16, 1)
    marker = x[..., 1]
    assert (marker.sum(0) == 2).all()
    assert (marker[:5].sum(0) == 1).all() and (marker[5:].sum(0) == 1).all()
    torch.testing.assert_close(y[:, 0], (x[..., 0] * marker).sum(0))
    x2, _ = adding_problem(16, 10, torch.Generator().manual_seed(0))
    assert torch.equal(x, x2)


def test_copy_task_targets_repeat_the_symbols_after_the_go_marker():
    x, y = copy_task(4, length=3, delay=2, symbols=5, generator=torch.Generator().manual_seed(0))
    assert x.shape == (9, 4, 7) and y.shape == (9, 4)
    seq = x[:3].argmax(-1)
    assert (x[5].argmax(-1) == 6).all()  # go marker after the delay
    assert torch.equal(y[6:], seq) and (y[:6] == 5).all()


def test_bad_arguments():
    with pytest.raises(ValueError, match="length must be >= 2"):
        adding_problem(2, 1)
    with pytest.raises(ValueError, match="need length >= 1"):
        copy_task(2, 0, 1)
