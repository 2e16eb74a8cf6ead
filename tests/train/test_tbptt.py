"""Truncated BPTT: windows, state carrying, and gradients against direct computations."""
import pytest
import torch
from torch.nn import functional as F

from rnnlab.errors import ConfigError
from rnnlab.lm import LanguageModel
from rnnlab.train import TruncatedBPTT


def _setup(T=24, B=3, V=7, seed=0):
    torch.manual_seed(seed)
    model = LanguageModel.build(V, hidden_size=6, num_layers=2, embedding_size=5).double()
    stream = torch.randint(0, V, (T + 1, B))
    return model, stream


def _runner(model, stream):
    def run(a, b, state):
        logits, state = model(stream[a:b], state)
        losses = F.cross_entropy(logits.flatten(0, 1), stream[a + 1:b + 1].flatten(), reduction="none")
        return losses.view(b - a, -1), state
    return run


def _grads(model, loss):
    model.zero_grad()
    loss.backward()
    return [p.grad.clone() for p in model.parameters()]


def test_windows_own_every_step_once():
    for k1, k2, length in [(5, 5, 23), (4, 10, 30), (3, 4, 3), (7, 20, 8)]:
        windows = TruncatedBPTT(k1, k2).windows(length)
        owned = [t for w in windows for t in range(w.loss_start, w.end)]
        assert owned == list(range(length))
        for w in windows:
            assert w.start == max(0, w.loss_start - (k2 - k1)) and w.end - w.loss_start <= k1


def test_k1_equals_k2_equals_T_is_full_bptt():
    model, stream = _setup()
    T = stream.shape[0] - 1
    full = _runner(model, stream)(0, T, None)[0].mean()
    g_full = _grads(model, full)
    tb = TruncatedBPTT(T, T)
    (window,) = tb.windows(T)
    loss, _ = tb.step(window, _runner(model, stream), None)
    assert torch.allclose(loss, full, rtol=0, atol=1e-14)
    for a, b in zip(_grads(model, loss), g_full):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-14)


def test_carried_state_continues_the_stream_exactly():
    model, stream = _setup(T=25)
    T = stream.shape[0] - 1
    with torch.no_grad():
        full = _runner(model, stream)(0, T, None)[0]
        for k1, k2 in [(5, 5), (4, 9), (6, 7)]:
            tb, carry, parts = TruncatedBPTT(k1, k2), None, []
            for w in tb.windows(T):
                loss, carry = tb.step(w, _runner(model, stream), carry)
                parts.append(loss * (w.end - w.loss_start))
            # mean over B of each owned step, summed: equals the full pass's per-step means summed
            assert torch.allclose(sum(parts), full.mean(1).sum(), atol=1e-12), (k1, k2)


def test_k2_greater_than_k1_gradient_flows_exactly_k2_back():
    model, stream = _setup(T=30)
    T, k1, k2 = 30, 4, 10
    tb, run, carry = TruncatedBPTT(k1, k2), _runner(model, stream), None
    windows = tb.windows(T)
    for w in windows[:5]:
        loss, new_carry = tb.step(w, run, carry)
        g = _grads(model, loss)
        # direct: state at w.start computed without gradient from the stream start, then a
        # fresh graph over [start, end) with the loss on the owned steps only
        with torch.no_grad():
            state = None if w.start == 0 else _runner(model, stream)(0, w.start, None)[1]
        losses, _ = _runner(model, stream)(w.start, w.end, state)
        direct = losses[w.loss_start - w.start:].mean()
        assert torch.allclose(loss, direct, atol=1e-12)
        for a, b in zip(g, _grads(model, direct)):
            torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)
        carry = new_carry
    # gradient really is truncated: an input before w.start has no influence on the update
    w = windows[4]
    assert w.start > 0


def test_k2_smaller_than_k1_is_refused():
    with pytest.raises(ConfigError, match="k2 .* must be >= k1"):
        TruncatedBPTT(10, 5)
    with pytest.raises(ConfigError, match="k1"):
        TruncatedBPTT(0)


def test_wrong_carry_position_is_an_error():
    model, stream = _setup()
    tb = TruncatedBPTT(5)
    w0, w1, w2 = tb.windows(20)[:3]
    _, carry = tb.step(w0, _runner(model, stream), None)
    with pytest.raises(ValueError, match="carried state is for step 5"):
        tb.step(w2, _runner(model, stream), carry)
    with pytest.raises(ValueError, match="no carried state"):
        tb.step(w1, _runner(model, stream), None)
