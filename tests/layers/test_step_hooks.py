"""Recurrent's step hooks and its selection (never multiplication) of padded steps."""
import pytest
import torch

from rnnlab import ElmanCell, GRUCell, LSTMCell, Recurrent, Zoneout
from rnnlab.cells._state import leaves
from rnnlab.layers.recurrent import Step

D, H = 3, 4
f64 = torch.float64


def _cells():
    return [ElmanCell(D, H), LSTMCell(D, H, peephole=True), GRUCell(D, H), Zoneout(GRUCell(D, H), 0.3).eval()]


def test_a_hook_sees_every_step_in_processing_order_and_changes_nothing():
    torch.manual_seed(0)
    cell = LSTMCell(D, H)
    layer = Recurrent(cell, reverse=True)
    x, h0, c0 = torch.randn(5, 2, D), torch.randn(2, H), torch.randn(2, H)
    want, (h_want, c_want) = layer(x, (h0, c0))
    seen: list[Step] = []
    handle = layer.register_step_hook(lambda lay, step: seen.append(step))
    got, (h_got, c_got) = layer(x, (h0, c0))
    torch.testing.assert_close(got, want)
    torch.testing.assert_close((h_got, c_got), (h_want, c_want))
    assert [s.t for s in seen] == list(range(5))
    state = (h0, c0)
    with torch.no_grad():
        for s in seen:  # a reversed layer reads the input from its end
            assert torch.equal(s.x, x[4 - s.t])
            out, state, internals = cell.step(s.x, state)
            assert torch.equal(s.out, out) and all(torch.equal(a, b) for a, b in zip(s.state, state))
            assert list(s.internals) == list(cell.internals) == ["i", "f", "g", "o", "c"]
            assert all(torch.equal(s.internals[k], internals[k]) for k in internals)
    handle.remove()
    layer(x)
    assert len(seen) == 5 and not layer._step_hooks


def test_a_registered_hook_makes_the_layer_step_even_when_fused_is_forced():
    layer = Recurrent(LSTMCell(D, H), fused=True)
    calls = []
    layer.cell.fused_scan = lambda *a: pytest.fail("the fused kernel ran while a step hook was registered")
    handle = layer.register_step_hook(lambda lay, step: calls.append(step.t))
    layer(torch.randn(3, 2, D))
    assert calls == [0, 1, 2]
    handle.remove()
    del layer.cell.fused_scan
    layer(torch.randn(3, 2, D))
    assert calls == [0, 1, 2]


def test_a_hook_can_replace_the_output_and_state_and_hooks_chain():
    torch.manual_seed(1)
    cell = ElmanCell(D, H).double()
    layer = Recurrent(cell)
    x = torch.randn(6, 2, D, dtype=f64)
    order = []

    def halve(lay, step):  # h_t ← h_t / 2, fed to the next step as well
        order.append("halve")
        return step.out / 2, step.state / 2

    def look(lay, step):  # a later hook sees what the earlier one returned
        order.append("look")
        assert torch.equal(step.out, step.state)
        return None

    layer.register_step_hook(halve)
    layer.register_step_hook(look)
    got, final = layer(x)
    assert order == ["halve", "look"] * 6
    h, want = torch.zeros(2, H, dtype=f64), []
    with torch.no_grad():
        for t in range(6):
            h = cell(x[t], h)[0] / 2
            want.append(h)
    torch.testing.assert_close(got, torch.stack(want), rtol=1e-12, atol=0)
    torch.testing.assert_close(final, want[-1], rtol=1e-12, atol=0)


def test_hooks_see_values_before_masking_and_padding_is_applied_after_them():
    torch.manual_seed(2)
    layer = Recurrent(GRUCell(D, H))
    x, lengths = torch.randn(4, 2, D), torch.tensor([4, 2])
    raw = []
    layer.register_step_hook(lambda lay, step: (raw.append(step.out.clone()), (step.out + 1, step.state))[1])
    y, _ = layer(x, lengths=lengths)
    assert (raw[3][1] != 0).all()  # the cell's value at a padded step, as the hook saw it ...
    assert (y[2:, 1] == 0).all() and torch.equal(y[:, 0], torch.stack([r[0] + 1 for r in raw]))  # ... not output


def test_register_step_hook_rejects_what_cannot_be_called():
    with pytest.raises(TypeError, match="callable"):
        Recurrent(ElmanCell(D, H)).register_step_hook("not a function")


@pytest.mark.parametrize("cell", _cells(), ids=lambda c: type(c).__name__)
@pytest.mark.parametrize("path", ["step", "hooked", "auto"])
def test_nan_in_padding_reaches_no_value_and_no_gradient(cell, path):
    torch.manual_seed(3)
    layer = Recurrent(cell.double(), fused=False if path == "step" else "auto")
    if path == "hooked":
        layer.register_step_hook(lambda lay, step: None)
    lengths = torch.tensor([5, 2, 3])
    x = torch.randn(5, 3, D, dtype=f64)
    x[2:, 1], x[3:, 2] = float("nan"), float("inf")
    x.requires_grad_(True)
    y, final = layer(x, lengths=lengths)
    assert torch.isfinite(y).all() and (y[2:, 1] == 0).all() and (y[3:, 2] == 0).all()
    for b, n in enumerate(lengths.tolist()):  # the state after each sequence's own last step
        _, alone = layer(x[:n, b : b + 1].detach())
        for got, want in zip(leaves(final), leaves(alone)):
            torch.testing.assert_close(got[b : b + 1], want)
    loss = y.pow(2).sum() + sum(s.pow(2).sum() for s in leaves(final))
    grads = torch.autograd.grad(loss, [x, *layer.parameters()])
    assert all(torch.isfinite(g).all() for g in grads)
    assert (grads[0][2:, 1] == 0).all() and (grads[0][3:, 2] == 0).all() and (grads[0][:2, 1] != 0).any()
