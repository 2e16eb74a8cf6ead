"""The NTM cell: gradcheck in float64 (step and a padded sequence), the addressing equations against
naive loops, one test per known NaN source, the memory-initialisation options, and the cell contract
(Recurrent, padding, batching, the Recorder)."""
from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from rnnlab.explore.record import Recorder
from rnnlab.layers import Recurrent
from rnnlab.memory.addressing import (address, circular_shift, content_weights, cosine_similarity, sharpen)
from rnnlab.memory.ntm import NTMCell
from tests.helpers import gradcheck_module


def small(**kw) -> NTMCell:
    torch.manual_seed(0)
    args = dict(controller_size=5, memory_slots=6, memory_width=3, read_heads=2, write_heads=2, shift_range=1)
    args.update(kw)
    return NTMCell(4, **args)


def random_state(cell: NTMCell, batch: int):
    """A state away from the one-hot start, so every path (interpolation, shift) carries gradient."""
    out, ctrl, rw, ww, mem = cell.init_state(batch)
    n = cell.slots
    soft = lambda heads: torch.softmax(torch.randn(batch, heads, n), -1).reshape(batch, heads * n)
    return (torch.randn_like(out), tuple(torch.randn_like(t) for t in ctrl) if isinstance(ctrl, tuple) else ctrl,
            soft(cell.read_heads), soft(cell.write_heads), torch.randn_like(mem))


# --- gradients -------------------------------------------------------------------------------------

@pytest.mark.parametrize("controller,heads", [("lstm", 1), ("feedforward", 2)])
def test_gradcheck_step(controller, heads):
    cell = small(controller=controller, controller_size=3, memory_slots=4, memory_width=2, read_heads=heads,
                 write_heads=heads)
    assert gradcheck_module(cell, torch.randn(2, 4), random_state(cell, 2), seed=1)


def test_gradcheck_sequence_learned_memory_with_padding():
    cell = small(memory_init="learned", read_heads=1, write_heads=1, controller_size=3, memory_slots=4,
                 memory_width=2, controller="feedforward")
    assert gradcheck_module(Recurrent(cell), torch.randn(3, 2, 4), lengths=torch.tensor([3, 2]), seed=1)


# --- the equations against naive references ------------------------------------------------------

def test_cosine_matches_torch_away_from_zero():
    keys, memory = torch.randn(2, 3, 5, dtype=torch.float64), torch.randn(2, 7, 5, dtype=torch.float64)
    ref = F.cosine_similarity(keys.unsqueeze(2), memory.unsqueeze(1), dim=-1)
    torch.testing.assert_close(cosine_similarity(keys, memory), ref, atol=1e-7, rtol=1e-6)


def test_circular_shift_matches_a_loop():
    w = torch.softmax(torch.randn(2, 3, 7, dtype=torch.float64), -1)
    s = torch.softmax(torch.randn(2, 3, 5, dtype=torch.float64), -1)  # offsets -2..2
    ref = torch.zeros_like(w)
    for b in range(2):
        for h in range(3):
            for i in range(7):
                ref[b, h, i] = sum(w[b, h, (i - o) % 7] * s[b, h, o + 2] for o in range(-2, 3))
    torch.testing.assert_close(circular_shift(w, s), ref)


def test_shift_by_one_moves_the_focus_forward():
    w = torch.zeros(1, 1, 5)
    w[0, 0, 4] = 1.0
    s = torch.tensor([[[0.0, 0.0, 1.0]]])  # all mass on offset +1
    assert circular_shift(w, s)[0, 0].tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]  # wraps around


def test_sharpen_is_the_normalised_power():
    w = torch.softmax(torch.randn(2, 3, 6, dtype=torch.float64), -1)
    gamma = 1 + torch.rand(2, 3, dtype=torch.float64) * 4
    ref = w ** gamma.unsqueeze(-1)
    torch.testing.assert_close(sharpen(w, gamma), ref / ref.sum(-1, keepdim=True), atol=1e-6, rtol=1e-5)


def test_erase_then_add_and_read():
    """With a write weighting one-hot on row 2 (β = 0, g = 1 and a neutral shift leave content
    weighting uniform, so drive it by interpolation from a one-hot previous weighting instead)."""
    cell = small(read_heads=1, write_heads=1)
    with torch.no_grad():
        for heads in (cell.read, cell.write):
            heads.linear.weight.zero_()
            b = heads.linear.bias
            b.zero_()
            M = cell.width
            b[M + 1] = -20.0                      # gate g = sigmoid(-20) ≈ 0: keep the previous weighting
            b[M + 2:M + 5] = torch.tensor([-20.0, 20.0, -20.0])  # shift: all mass on offset 0
        wb = cell.write.linear.bias
        wb[M + 6:2 * M + 6] = 20.0               # erase everything
        wb[2 * M + 6:] = 20.0                    # add ≈ 1 (tanh 20)
    out, ctrl, rw, ww, mem = cell.init_state(1)
    ww = torch.zeros_like(ww)
    ww[0, 2] = 1.0
    rw = ww.clone()
    mem = torch.randn_like(mem)
    _, state, internals = cell.step(torch.randn(1, 4), (out, ctrl, rw, ww, mem))
    new = state[4].view(6, 3)
    torch.testing.assert_close(new[2], torch.ones(3), atol=1e-6, rtol=0)       # row 2: erased, then a ≈ 1 added
    torch.testing.assert_close(new[[0, 1, 3, 4, 5]], mem.view(6, 3)[[0, 1, 3, 4, 5]])  # others untouched
    torch.testing.assert_close(state[0][0, 5:], torch.ones(3), atol=1e-6, rtol=0)  # read back at once
    assert internals["write"][0].argmax() == 2 and internals["read"][0].argmax() == 2


# --- the NaN sources, one test each --------------------------------------------------------------

def test_cosine_against_all_zero_memory_is_finite():
    """A zero memory (or a zero key) makes the plain cosine 0/0 and its gradient x/|x| at 0 NaN."""
    keys = torch.zeros(2, 1, 4, requires_grad=True)
    memory = torch.zeros(2, 5, 4, requires_grad=True)
    strength = torch.full((2, 1), 5.0, requires_grad=True)
    w = content_weights(keys, strength, memory)
    torch.testing.assert_close(w, torch.full_like(w, 0.2))  # no information: uniform
    (w * torch.randn_like(w)).sum().backward()
    assert all(torch.isfinite(t.grad).all() for t in (keys, memory, strength))
    # and the whole cell started on an all-zero memory trains without NaN
    cell = small(init_value=0.0)
    out, _ = Recurrent(cell)(torch.randn(5, 2, 4))
    out.pow(2).sum().backward()
    assert torch.isfinite(out).all() and all(torch.isfinite(p.grad).all() for p in cell.parameters())


def test_sharpening_exponent_is_at_least_one_and_zero_weights_have_finite_gradients():
    cell = small(read_heads=1, write_heads=1)
    with torch.no_grad():
        cell.read.linear.bias.fill_(-1e4)  # the γ pre-activation as negative as it gets
    assert (cell.read(torch.randn(3, 5)).gamma >= 1.0).all()
    # w^γ has ∂/∂γ = w^γ log w, which is 0 · (−∞) = NaN where w = 0: exact zeros must be safe
    w = torch.tensor([[[0.0, 0.0, 1.0, 0.0]]], requires_grad=True)
    gamma = torch.tensor([[1.0]], requires_grad=True)
    out = sharpen(w, gamma)
    (out * torch.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    assert torch.isfinite(w.grad).all() and torch.isfinite(gamma.grad).all()
    # what an exponent below 1 does to the plain power: ∂w^γ/∂w = γ w^(γ−1) is infinite at w = 0
    naive = w.detach().clone().requires_grad_()
    (naive ** 0.5).sum().backward()
    assert torch.isinf(naive.grad).any()
    # while the construction stays finite even if handed such an exponent
    safe = w.detach().clone().requires_grad_()
    sharpen(safe, torch.tensor([[0.5]])).pow(2).sum().backward()
    assert torch.isfinite(safe.grad).all()


@pytest.mark.parametrize("controller", ["lstm", "feedforward"])
def test_unbounded_controller_outputs_stay_finite(controller):
    """Heads reading huge controller outputs (weights × 1e6): clipped pre-activations saturate."""
    cell = small(controller=controller)
    with torch.no_grad():
        for heads in (cell.read, cell.write):
            heads.linear.weight.mul_(1e6)
            heads.linear.bias.mul_(1e6)
    x = torch.randn(6, 3, 4) * 100
    out, state = Recurrent(cell)(x)
    (out.sum() + state[4].sum()).backward()
    assert torch.isfinite(out).all() and torch.isfinite(state[4]).all()
    assert all(torch.isfinite(p.grad).all() for p in cell.parameters())


def test_weightings_are_distributions():
    cell = small()
    state = cell.init_state(3)
    for _ in range(4):
        _, state, internals = cell.step(torch.randn(3, 4), state)
        for name in ("read", "write"):
            w = internals[name].view(3, 2, cell.slots)
            assert (w >= 0).all()
            torch.testing.assert_close(w.sum(-1), torch.ones(3, 2))


# --- memory initialisation ------------------------------------------------------------------------

def test_constant_memory_init():
    cell = small(init_value=0.25)
    assert cell.memory0 is None
    mem = cell.init_state(2)[4]
    assert mem.shape == (2, 6 * 3) and (mem == 0.25).all()
    assert (cell.init_state(2)[0][:, 5:] == 0.25).all()  # r_0 reads row 0 of M_0


def test_learned_memory_init_gets_gradient_and_is_saved():
    cell = small(memory_init="learned")
    assert "memory0" in cell.state_dict()
    out, _ = Recurrent(cell)(torch.randn(4, 2, 4))
    out.sum().backward()
    assert cell.memory0.grad is not None and cell.memory0.grad.abs().sum() > 0


def test_bad_options_are_named():
    with pytest.raises(ValueError, match="memory_init"):
        NTMCell(4, memory_init="random")
    with pytest.raises(ValueError, match="controller"):
        NTMCell(4, controller="transformer")
    with pytest.raises(ValueError, match="memory slots"):
        NTMCell(4, memory_slots=2, shift_range=1)
    with pytest.raises(ValueError, match="expected input size"):
        NTMCell(4).step(torch.randn(2, 5), NTMCell(4).init_state(2))


# --- the cell contract ---------------------------------------------------------------------------

def test_batch_rows_are_independent_and_padding_keeps_the_state():
    cell = small()
    layer = Recurrent(cell)
    x = torch.randn(5, 3, 4)
    out, state = layer(x, lengths=torch.tensor([5, 3, 1]))
    for b, n in enumerate([5, 3, 1]):
        alone, alone_state = layer(x[:n, b:b + 1])
        torch.testing.assert_close(out[:n, b:b + 1], alone, atol=1e-6, rtol=1e-5)
        assert (out[n:, b] == 0).all()
        torch.testing.assert_close(state[4][b:b + 1], alone_state[4], atol=1e-6, rtol=1e-5)


def test_recorder_keeps_the_weightings_per_step():
    cell = small()
    model = torch.nn.Sequential()
    model.rnn = Recurrent(cell)
    with Recorder(model) as rec:
        out, _ = model.rnn(torch.randn(7, 2, 4))
    values = rec.values["rnn"]
    assert values["read"].shape == (7, 2, 2 * 6) and values["write"].shape == (7, 2, 2 * 6)
    torch.testing.assert_close(values["h"], out.detach())
