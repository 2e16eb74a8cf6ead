"""Recurrent, Bidirectional and Stacked: variable lengths, carried state, reversal, composition."""
import pytest
import torch

import rnnlab
from rnnlab import Bidirectional, ElmanCell, GRUCell, LSTMCell, Recurrent, Stacked, Zoneout
from tests.helpers import gradcheck_module

D, H = 3, 5


def _cells():
    return [ElmanCell(D, H), LSTMCell(D, H, peephole=True), GRUCell(D, H, reset_after=False), Zoneout(GRUCell(D, H), 0.2).eval()]


@pytest.mark.parametrize("cell", _cells(), ids=lambda c: type(c).__name__)
@pytest.mark.parametrize("fused", ["auto", False])
def test_padded_steps_change_nothing_and_get_no_gradient(cell, fused):
    torch.manual_seed(0)
    layer = Recurrent(cell.double(), fused=fused)
    lengths = torch.tensor([6, 2, 4])
    x = torch.randn(6, 3, D, dtype=torch.double, requires_grad=True)
    y, final = layer(x, lengths=lengths)
    for b, n in enumerate(lengths.tolist()):
        alone_y, alone_final = layer(x[:n, b : b + 1])
        torch.testing.assert_close(y[:n, b : b + 1], alone_y)
        assert (y[n:, b] == 0).all()
        for got, want in zip(_leaves(final), _leaves(alone_final)):
            torch.testing.assert_close(got[b : b + 1], want)
    loss = y.pow(2).sum() + sum(s.pow(2).sum() for s in _leaves(final))
    (gx,) = torch.autograd.grad(loss, x)
    assert (gx[2:, 1] == 0).all() and (gx[4:, 2] == 0).all()
    assert (gx[:2, 1] != 0).any()


@pytest.mark.parametrize("cell", _cells(), ids=lambda c: type(c).__name__)
def test_carried_state_continues_the_sequence(cell):
    torch.manual_seed(0)
    layer = Recurrent(cell)
    x = torch.randn(8, 2, D)
    whole, s_whole = layer(x)
    first, s = layer(x[:5])
    second, s2 = layer(x[5:], s)
    torch.testing.assert_close(torch.cat([first, second]), whole)
    for a, b in zip(_leaves(s2), _leaves(s_whole)):
        torch.testing.assert_close(a, b)


def test_detached_carried_state_cuts_the_graph_between_chunks():
    torch.manual_seed(0)
    layer = Recurrent(LSTMCell(D, H))
    x = torch.randn(6, 2, D, requires_grad=True)
    _, s = layer(x[:3])
    y, _ = layer(x[3:], rnnlab.detach(s))  # truncated BPTT: the second chunk does not reach the first
    (g,) = torch.autograd.grad(y.sum(), x)
    assert (g[:3] == 0).all() and (g[3:] != 0).any()
    y, _ = layer(x[3:], s)
    (g,) = torch.autograd.grad(y.sum(), x)
    assert (g[:3] != 0).any()


def test_reverse_reads_each_sequence_from_its_own_end():
    torch.manual_seed(0)
    cell = GRUCell(D, H)
    x, lengths = torch.randn(5, 2, D), torch.tensor([5, 3])
    y, final = Recurrent(cell, reverse=True)(x, lengths=lengths)
    forward_on_flipped, f2 = Recurrent(cell)(x[:3, 1:].flip(0))
    torch.testing.assert_close(y[:3, 1:], forward_on_flipped.flip(0))
    torch.testing.assert_close(final[1:], f2)
    assert (y[3:, 1] == 0).all()


def test_batch_first_is_the_transpose():
    torch.manual_seed(0)
    cell = LSTMCell(D, H)
    x = torch.randn(4, 2, D)
    a, _ = Recurrent(cell)(x)
    b, _ = Recurrent(cell, batch_first=True)(x.transpose(0, 1))
    torch.testing.assert_close(b, a.transpose(0, 1))


def test_bidirectional_concat_and_sum():
    torch.manual_seed(0)
    f, b = ElmanCell(D, H), ElmanCell(D, H)
    x, lengths = torch.randn(5, 3, D), torch.tensor([5, 2, 4])
    y, (sf, sb) = Bidirectional(f, b)(x, lengths=lengths)
    yf, _ = Recurrent(f)(x, lengths=lengths)
    yb, _ = Recurrent(b, reverse=True)(x, lengths=lengths)
    torch.testing.assert_close(y, torch.cat([yf, yb], -1))
    ys, _ = Bidirectional(f, b, merge="sum")(x, lengths=lengths)
    torch.testing.assert_close(ys, yf + yb)
    torch.testing.assert_close(sb, yb[0])  # backward's final state is its output at t = 0


def test_bidirectional_rejects_a_forward_backward_layer():
    with pytest.raises(ValueError, match="reverse=True"):
        Bidirectional(Recurrent(ElmanCell(D, H)), Recurrent(ElmanCell(D, H)))


def test_stacked_residual_and_dropout():
    torch.manual_seed(0)
    layers = [Recurrent(GRUCell(D, H)), Recurrent(GRUCell(H, H)), Recurrent(GRUCell(H, H))]
    x = torch.randn(4, 2, D)
    plain = Stacked(layers)
    res = Stacked(layers, residual=True)
    y1, _ = layers[0](x)
    y2, _ = layers[1](y1)
    y2 = y2 + y1
    y3, _ = layers[2](y2)
    torch.testing.assert_close(res(x)[0], y3 + y2)
    assert not torch.allclose(plain(x)[0], res(x)[0])
    drop = Stacked(layers, dropout=0.5)
    assert not torch.allclose(drop(x)[0], plain(x)[0])
    torch.testing.assert_close(drop.eval()(x)[0], plain(x)[0])


def test_stacked_checks_widths():
    with pytest.raises(ValueError, match="layer 1 expects 4 inputs but layer 0 outputs 5"):
        Stacked([Recurrent(ElmanCell(D, H)), Recurrent(ElmanCell(4, H))])


def test_gradcheck_bidirectional_stack_with_lengths():
    torch.manual_seed(0)
    model = Stacked([Bidirectional(LSTMCell(D, 3), GRUCell(D, 3)), Recurrent(ElmanCell(6, 2))])
    assert gradcheck_module(model, torch.randn(4, 3, D), lengths=torch.tensor([4, 1, 3]))


def _leaves(state):
    from rnnlab.cells._state import leaves

    return leaves(state)
