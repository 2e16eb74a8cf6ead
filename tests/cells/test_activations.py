"""The one activation table: f, f written into a buffer, f' through the output, and the fused backward agree."""
import pytest
import torch

from rnnlab.cells.activations import ACTIVATIONS, check_activation


def _points():
    # away from relu's kink at 0, where autograd and "y > 0" may pick different one-sided derivatives
    a = torch.linspace(-3, 3, 100, dtype=torch.float64)
    return a[a.abs() > 1e-3]


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_derivative_through_the_output_is_autograds(name):
    act = ACTIVATIONS[name]
    a = _points().requires_grad_()
    y = act(a)
    (dy_da,) = torch.autograd.grad(y.sum(), a)
    torch.testing.assert_close(act.derivative(y.detach()), dy_da, atol=1e-15, rtol=0)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_fused_backward_is_dy_times_the_derivative(name):
    act = ACTIVATIONS[name]
    a = _points()
    y, dy = act(a), torch.randn_like(a)
    out = torch.full_like(a, float("nan"))
    assert act.backward(dy, y, out) is out
    torch.testing.assert_close(out, dy * act.derivative(y), atol=1e-15, rtol=0)
    in_place = dy.clone()  # the kernels write ∂L/∂v over ∂L/∂y
    act.backward(in_place, y, in_place)
    torch.testing.assert_close(in_place, out, atol=0, rtol=0)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_into_writes_f_into_a_buffer_or_in_place(name):
    act = ACTIVATIONS[name]
    a = _points()
    out = torch.full_like(a, float("nan"))
    assert act.into(a, out) is out
    torch.testing.assert_close(out, act(a), atol=0, rtol=0)
    v = a.clone()
    act.into(v, v)
    torch.testing.assert_close(v, act(a), atol=0, rtol=0)


def test_unknown_name_lists_the_choices():
    assert check_activation("relu") == "relu"
    with pytest.raises(ValueError, match="choose one of .*'sigmoid'"):
        check_activation("swish", "candidate_activation")
