"""The NTM's fast paths against the composite reference, in float64: the addressing as one autograd
node with a hand-derived backward (AddressFunction: gradcheck, values and gradients equal to
`addressing.address` to 1e-10, finite on the known NaN sources), the cell using it, and the cell's
compiled step (`compile_step`, traced by torch.compile — with the `aot_eager` backend here, which
runs the same captured forward and backward graphs without generating C++, so the test stays fast;
bench/ntm_speed.py checks the generated code the same way)."""
from __future__ import annotations

import functools

import pytest
import torch

from rnnlab.layers import Recurrent
from rnnlab.memory.address_function import address_fused
from rnnlab.memory.addressing import address
from rnnlab.memory.ntm import NTMCell

D = torch.float64


def addressing_inputs(batch=3, heads=2, slots=7, width=5, shift_range=1, seed=0):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g, dtype=D)
    return [r(batch, heads, width), torch.rand(batch, heads, generator=g, dtype=D) * 5,
            torch.rand(batch, heads, generator=g, dtype=D), torch.softmax(r(batch, heads, 2 * shift_range + 1), -1),
            1 + torch.rand(batch, heads, generator=g, dtype=D) * 3, torch.softmax(r(batch, heads, slots), -1),
            r(batch, slots, width)]


def value_and_grads(fn, inputs, seed=1):
    inputs = [t.detach().clone().requires_grad_() for t in inputs]
    out = fn(*inputs)
    weight = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed), dtype=D)
    return out.detach(), torch.autograd.grad((out * weight).sum(), inputs)


@pytest.mark.parametrize("shift_range", [0, 1, 2])
def test_address_function_gradcheck(shift_range):
    inputs = [t.requires_grad_() for t in addressing_inputs(2, 2, 5, 3, shift_range)]
    assert torch.autograd.gradcheck(address_fused, inputs)


@pytest.mark.parametrize("shift_range", [0, 1, 3])
def test_address_function_equals_the_composite(shift_range):
    inputs = addressing_inputs(shift_range=shift_range)
    (v1, g1), (v2, g2) = value_and_grads(address_fused, inputs), value_and_grads(address, inputs)
    torch.testing.assert_close(v1, v2, atol=1e-10, rtol=0)
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)


def test_address_function_is_finite_on_zero_memory_zero_keys_and_one_hot_weights():
    """The NaN sources of addressing.py: cosine of a zero key against zero rows, and sharpening of
    exact zeros (a one-hot previous weighting, gate 0, no shift)."""
    keys, strength, gate, shift, gamma, previous, memory = addressing_inputs(slots=6)
    keys, memory = torch.zeros_like(keys), torch.zeros_like(memory)
    gate = torch.zeros_like(gate)
    shift = torch.zeros_like(shift)
    shift[..., 1] = 1.0
    previous = torch.zeros_like(previous)
    previous[..., 0] = 1.0
    inputs = [keys, strength, gate, shift, gamma + 20, previous, memory]
    (v1, g1), (v2, g2) = value_and_grads(address_fused, inputs), value_and_grads(address, inputs)
    assert all(bool(torch.isfinite(t).all()) for t in (v1, *g1))
    torch.testing.assert_close(v1, v2, atol=1e-10, rtol=0)
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)


def small_cell(**kw) -> NTMCell:
    torch.manual_seed(0)
    args = dict(controller_size=6, memory_slots=8, memory_width=4, read_heads=2, write_heads=2, shift_range=1)
    return NTMCell(5, **(args | kw)).to(D)


def sequence_grads(layer, x):
    layer.zero_grad()
    out, _ = layer(x)
    weight = torch.randn(out.shape, generator=torch.Generator().manual_seed(3), dtype=D)
    (out * weight).sum().backward()
    return out.detach(), [p.grad.clone() for p in layer.parameters()]


def composite(cell: NTMCell) -> NTMCell:
    """The same cell stepping through the composite addressing (the implementation before the fused node)."""
    cell._advance = functools.partial(cell._eager_advance, address=address)
    return cell


@pytest.mark.parametrize("controller", ["lstm", "feedforward"])
def test_cell_with_the_fused_addressing_equals_the_composite_cell(controller):
    x = torch.randn(6, 3, 5, dtype=D)
    fast, ref = Recurrent(small_cell(controller=controller)), Recurrent(composite(small_cell(controller=controller)))
    (o1, g1), (o2, g2) = sequence_grads(fast, x), sequence_grads(ref, x)
    torch.testing.assert_close(o1, o2, atol=1e-10, rtol=0)
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)


def test_compiled_step_equals_the_eager_step():
    torch._dynamo.reset()
    x = torch.randn(4, 2, 5, dtype=D)
    eager = Recurrent(composite(small_cell(read_heads=1, write_heads=1)))
    compiled = Recurrent(small_cell(read_heads=1, write_heads=1).compile_step(backend="aot_eager"))
    compiled.load_state_dict(eager.state_dict())
    (o1, g1), (o2, g2) = sequence_grads(eager, x), sequence_grads(compiled, x)
    torch.testing.assert_close(o1, o2, atol=1e-10, rtol=0)
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)


def test_recipe_compile_option():
    """--compile wraps the NTM's step (compiling lazily, at the first update); a baseline refuses it."""
    from rnnlab.errors import ConfigError
    from rnnlab.recipes.memory import RECIPE
    options = RECIPE.options({"task": "ntm-copy", "compile": True, "hidden": 4, "memory_slots": 4, "memory_width": 2})
    cell = RECIPE.prepare(options).model.encoder.cell
    assert "_advance" in vars(cell)  # the instance's compiled step shadows the eager method
    plain = RECIPE.prepare(RECIPE.options({"task": "ntm-copy", "hidden": 4, "memory_slots": 4, "memory_width": 2}))
    assert "_advance" not in vars(plain.model.encoder.cell)
    with pytest.raises(ConfigError, match="--compile applies to the NTM"):
        RECIPE.options({"task": "ntm-copy", "model": "lstm", "compile": True})


def test_step_under_torch_func_transforms_uses_plain_ops():
    """RTRL's generic step Jacobians (vmap ∘ jacrev) cannot go through a custom autograd.Function:
    under a transform the step takes the composite addressing, and its Jacobian matches autograd's."""
    from rnnlab.train.rtrl.generic import generic_step
    cell = small_cell(controller="feedforward", controller_size=3, memory_slots=4, memory_width=2, read_heads=1,
                      write_heads=1)
    from rnnlab.train.rtrl.generic import flatten_state
    x = torch.randn(2, 5, dtype=D)
    state = cell.init_state(2)
    jac = generic_step(cell, x, state)

    def z(xb):  # the normal (fused) step, one row: z = [new state, out]
        out, new = cell(xb, tuple(t[:1] if isinstance(t, torch.Tensor) else tuple(u[:1] for u in t) for t in state))
        return torch.cat([flatten_state(new)[0], out[0]])
    reference = torch.autograd.functional.jacobian(z, x[:1])[:, 0]
    torch.testing.assert_close(jac.X[0], reference, atol=1e-10, rtol=0)
