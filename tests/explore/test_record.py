"""The Recorder records exactly what the layers computed, per unit, gate and step: its values are the
ones the layer's own unroll produced (seen through a step hook), checked against the layer's outputs
and against gates computed by hand."""
import numpy as np
import pytest
import torch
from torch import nn

from rnnlab import (Bidirectional, ClockworkCell, ElmanCell, GRUCell, LeakyCell, LSTMCell, Recurrent, SkipCell,
                    Stacked, Zoneout)
from rnnlab.cells.wrapper import CellWrapper
from rnnlab.data import Vocabulary
from rnnlab.errors import DataError
from rnnlab.explore import MAX_TOKENS, Recorder, Recording, record_examples, record_language_model
from rnnlab.lm import LanguageModel


class Net(nn.Module):
    """A model holding a layer under a name, as real models do."""

    def __init__(self, layer):
        super().__init__()
        self.body = layer

    def forward(self, x, state=None, lengths=None):
        return self.body(x, state, lengths)


def _lstm_gates(cell, x_t, h, c):
    """i, f, g, o and the new c of a plain LSTMCell, from its weights (gate order i, f, g, o)."""
    pre = x_t @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T + cell.bias_hh
    pi, pf, pg, po = pre.chunk(4, dim=1)
    i, f, g, o = torch.sigmoid(pi), torch.sigmoid(pf), torch.tanh(pg), torch.sigmoid(po)
    return i, f, g, o, f * c + i * g


def _gru_cho_gates(cell, x_t, h):
    """r, z, n of a GRUCell(reset_after=False) from its weights (gate order r, z, n; the reset
    gate scales h before the recurrent matmul)."""
    H = h.shape[1]
    wx = x_t @ cell.weight_ih.T + cell.bias_ih
    r = torch.sigmoid(wx[:, :H] + h @ cell.weight_hh[:H].T + cell.bias_hh[:H])
    z = torch.sigmoid(wx[:, H:2 * H] + h @ cell.weight_hh[H:2 * H].T + cell.bias_hh[H:2 * H])
    n = torch.tanh(wx[:, 2 * H:] + (r * h) @ cell.weight_hh[2 * H:].T + cell.bias_hh[2 * H:])
    return r, z, n


def _lstm_by_hand(cell, x, h, c):
    """Per-step h, c, i, f, g, o computed from the weights, time-major."""
    out = {k: [] for k in "hcifgo"}
    for t in range(x.shape[0]):
        i, f, g, o, c = _lstm_gates(cell, x[t], h, c)
        h = o * torch.tanh(c)
        for k, v in zip("hcifgo", (h, c, i, f, g, o)):
            out[k].append(v)
    return {k: torch.stack(v) for k, v in out.items()}


@pytest.mark.parametrize("fused", [False, "auto"])
def test_lstm_values_are_the_outputs_and_the_hand_computed_gates(fused):
    torch.manual_seed(0)
    net = Net(Recurrent(LSTMCell(3, 5), fused=fused))
    x, h0, c0 = torch.randn(7, 2, 3), torch.randn(2, 5), torch.randn(2, 5)
    with Recorder(net) as rec:
        y, (h, c) = net(x, (h0, c0))
    v = rec.values["body"]
    assert list(v) == list("hcifgo") and all(t.shape == (7, 2, 5) and t.dtype == torch.float32 for t in v.values())
    assert torch.equal(v["h"], y) and torch.equal(v["c"][-1], c)  # the recording is the computation: bit for bit
    with torch.no_grad():
        ref = _lstm_by_hand(net.body.cell, x, h0, c0)
    for k in "hcifgo":
        torch.testing.assert_close(v[k], ref[k], atol=1e-6, rtol=1e-6)
    assert not torch.allclose(v["i"], v["f"])  # the gates are told apart, not copies of one


def test_reverse_layer_is_stored_in_input_order_and_padding_is_zero():
    torch.manual_seed(1)
    net = Net(Recurrent(LSTMCell(3, 4), reverse=True, fused=False))
    x, lengths = torch.randn(6, 2, 3), torch.tensor([6, 4])
    with Recorder(net) as rec:
        y, _ = net(x, lengths=lengths)
    v = rec.values["body"]
    assert torch.equal(v["h"], y)
    zeros = torch.zeros(2, 4)
    with torch.no_grad():  # sequence 1 alone, read backwards from its own last step
        ref = _lstm_by_hand(net.body.cell, x[:4, 1:].flip(0), zeros[:1], zeros[:1])
    for k in "hcifgo":
        torch.testing.assert_close(v[k][:4, 1:], ref[k].flip(0), atol=1e-6, rtol=1e-6)
        assert (v[k][4:, 1] == 0).all()  # padded steps


def test_batch_first_layer_is_recorded_time_major():
    torch.manual_seed(2)
    net = Net(Recurrent(GRUCell(3, 4), batch_first=True))
    x = torch.randn(2, 5, 3)  # (B, T, D)
    with Recorder(net) as rec:
        y, _ = net(x)
    torch.testing.assert_close(rec.values["body"]["h"], y.transpose(0, 1), atol=1e-6, rtol=1e-6)


def test_gru_kinds_are_the_hand_computed_gates():
    torch.manual_seed(3)
    cell = GRUCell(3, 4, reset_after=False)
    net = Net(Recurrent(cell))
    x, h = torch.randn(5, 2, 3), torch.randn(2, 4)
    with Recorder(net) as rec:
        y, _ = net(x, h)
    v = rec.values["body"]
    assert set(v) == {"h", "r", "z", "n"}
    with torch.no_grad():
        for t in range(5):
            r, z, n = _gru_cho_gates(cell, x[t], h)
            h = (1 - z) * n + z * h
            for k, ref in zip("rzn", (r, z, n)):
                torch.testing.assert_close(v[k][t], ref, atol=1e-6, rtol=1e-6)
            torch.testing.assert_close(v["h"][t], h, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(v["h"], y, atol=1e-6, rtol=1e-6)


def test_bidirectional_and_stacked_layers_are_named_and_match_their_outputs():
    torch.manual_seed(4)
    bi = Bidirectional(LSTMCell(3, 4), GRUCell(3, 2))
    net = Net(Stacked([bi, Recurrent(ElmanCell(6, 5))]))
    x, lengths = torch.randn(6, 3, 3), torch.tensor([6, 2, 5])
    with Recorder(net) as rec:
        net(x, lengths=lengths)
        y_bi, _ = bi(x, None, lengths)  # called again inside the block: recorded again, joined along time
    v = rec.values
    assert list(v) == ["body.layers.0.forward_layer", "body.layers.0.backward_layer", "body.layers.1"]
    assert set(v["body.layers.1"]) == {"h"}
    assert v["body.layers.0.forward_layer"]["h"].shape == (12, 3, 4)  # two calls of 6 steps
    torch.testing.assert_close(v["body.layers.0.forward_layer"]["h"][6:], y_bi[..., :4], atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(v["body.layers.0.backward_layer"]["h"][6:], y_bi[..., 4:], atol=1e-6, rtol=1e-6)
    assert "z" in v["body.layers.0.backward_layer"] and "c" in v["body.layers.0.forward_layer"]


def test_hooks_are_removed_on_exit_even_after_an_error():
    net = Net(Bidirectional(LSTMCell(3, 4), LSTMCell(3, 4)))
    layers = [m for m in net.modules() if isinstance(m, Recurrent)]
    with Recorder(net):
        assert all(len(m._forward_hooks) == 1 and len(m._step_hooks) == 1 for m in layers)
    assert all(not m._forward_hooks and not m._step_hooks for m in layers)
    with pytest.raises(ValueError), Recorder(net):
        net(torch.randn(4, 2, 9))  # wrong input size: the layer raises before its hook
    assert all(not m._forward_hooks and not m._step_hooks for m in layers)
    with Recorder(net) as rec:
        net(torch.randn(4, 2, 3))
    assert all(not m._forward_hooks and not m._step_hooks for m in layers)
    assert rec.values["body.forward_layer"]["h"].shape == (4, 2, 4)


def test_a_call_that_failed_midway_leaves_nothing_behind():
    class FailsAtStep(LSTMCell):
        fail = True

        def step(self, x_t, state):
            if self.fail and len(seen) == 2:
                raise RuntimeError("boom")
            seen.append(1)
            return super().step(x_t, state)

    seen = []
    net = Net(Recurrent(FailsAtStep(3, 4)))
    x = torch.randn(5, 2, 3)
    with Recorder(net) as rec:
        with pytest.raises(RuntimeError, match="boom"):
            net(x)
        net.body.cell.fail = False
        y, _ = net(x)
    assert torch.equal(rec.values["body"]["h"], y)  # the two steps of the failed call are not in it


class PassInternals(CellWrapper):
    """A wrapper that does nothing but hand its inner cell's step and internals on (CellWrapper's
    own behaviour)."""


class Doubler(ElmanCell):
    """An Elman cell that reports one internal of its own, under a name the page does not know."""

    internals = ("pre",)

    def step(self, x_t, state):
        out, state = self(x_t, state)
        return out, state, {"pre": 2 * state}


def test_internals_come_from_the_cell_contract_for_any_cell_and_wrapper():
    torch.manual_seed(5)
    net = Net(Stacked([Recurrent(PassInternals(LSTMCell(3, 4))), Recurrent(Doubler(4, 4)),
                       Recurrent(ClockworkCell(ElmanCell(4, 4), periods=(1, 2)))]))
    x, lengths = torch.randn(6, 2, 3), torch.tensor([6, 3])
    with Recorder(net) as rec:
        y, _ = net(x, lengths=lengths)
    v = rec.values
    assert list(v["body.layers.0"]) == list("hcifgo") and list(v["body.layers.1"]) == ["h", "pre"]
    assert list(v["body.layers.2"]) == ["h"]  # no internals: h only
    torch.testing.assert_close(v["body.layers.1"]["pre"], 2 * v["body.layers.1"]["h"])
    assert torch.equal(v["body.layers.2"]["h"], y)
    with torch.no_grad():
        ref = _lstm_by_hand(net.body.layers[0].cell.cell, x[:3, 1:], torch.zeros(1, 4), torch.zeros(1, 4))
    for k in "hcifgo":
        torch.testing.assert_close(v["body.layers.0"][k][:3, 1:], ref[k], atol=1e-6, rtol=1e-6)
        assert (v["body.layers.0"][k][3:, 1] == 0).all()


def test_wrapped_cells_record_h_and_whatever_internals_the_wrapper_reports():
    torch.manual_seed(5)
    leaky = LeakyCell(LSTMCell(3, 4), alpha=0.7)
    skip = SkipCell(GRUCell(4, 4), delay=2)
    net = Net(Stacked([Recurrent(leaky), Recurrent(skip)]))
    x = torch.randn(6, 2, 3)
    with Recorder(net) as rec:
        y, _ = net(x)
    v = rec.values
    assert set(v["body.layers.0"]) == {"h", *leaky.internals} and set(v["body.layers.1"]) == {"h", *skip.internals}
    torch.testing.assert_close(v["body.layers.1"]["h"], y, atol=1e-6, rtol=1e-6)
    with torch.no_grad():  # step 0 from the zero state: the inner cell's own gates
        gates = dict(zip("ifgo", _lstm_gates(leaky.cell, x[0], torch.zeros(2, 4), torch.zeros(2, 4))))
    for k in set(gates) & set(leaky.internals):
        torch.testing.assert_close(v["body.layers.0"][k][0], gates[k])


def test_training_mode_records_the_noise_that_was_drawn():
    torch.manual_seed(6)
    net = Net(Recurrent(Zoneout(LSTMCell(3, 8), p=0.5)))  # training mode: fresh random masks each call
    x = torch.randn(5, 2, 3)
    with Recorder(net) as rec:
        y, _ = net(x)
    assert torch.equal(rec.values["body"]["h"], y)
    net.eval()
    with Recorder(net) as rec:
        y_eval, _ = net(x)
    assert torch.equal(rec.values["body"]["h"], y_eval) and not torch.equal(y, y_eval)


def _lm(num_layers=2, seed=0):
    vocab = Vocabulary(["<unk>", "a", "b", "\n"])
    torch.manual_seed(seed)
    return LanguageModel.build(len(vocab), hidden_size=6, num_layers=num_layers, embedding_size=3), vocab


def test_record_language_model_gives_every_layer_and_the_next_token_guesses():
    model, vocab = _lm()
    model.train()
    tokens = list("abba\nbz")  # z is unknown → <unk>
    rec = record_language_model(model, vocab, tokens, top_k=3)
    assert model.training  # mode restored
    assert rec.tokens == tokens and len(rec) == 7
    assert rec.keys() == [f"rnn.layers.{k}/{kind}" for k in (0, 1) for kind in "hcifgo"]
    assert rec.units("rnn.layers.1/c") == 6 and rec.values["rnn.layers.0/h"].dtype == np.float32
    assert rec.targets == tokens[1:] + [None]
    with torch.no_grad():
        model.eval()
        logits, _ = model(vocab.encode(tokens).unsqueeze(1))
    probs = torch.softmax(logits[:, 0], -1)
    for t, guesses in enumerate(rec.predictions):
        assert len(guesses) == 3 and [p for _, p in guesses] == sorted((p for _, p in guesses), reverse=True)
        assert guesses[0] == (vocab[int(probs[t].argmax())], pytest.approx(float(probs[t].max())))
    with torch.no_grad():
        y, _ = model.rnn(model.embed(vocab.encode(tokens).unsqueeze(1)))
    np.testing.assert_allclose(rec.values["rnn.layers.1/h"], y[:, 0].numpy(), atol=1e-6)


def test_record_examples_runs_each_example_from_a_fresh_state():
    model, vocab = _lm(num_layers=1)
    recs = record_examples(model, vocab, [list("ab\n"), list("ba")])
    assert [r.tokens for r in recs] == [list("ab\n"), list("ba")]
    alone = record_language_model(model, vocab, list("ba"))
    np.testing.assert_array_equal(recs[1].values["rnn.layers.0/c"], alone.values["rnn.layers.0/c"])


def test_to_json_is_plain_and_rounded_and_limits_are_enforced():
    model, vocab = _lm(num_layers=1)
    rec = record_language_model(model, vocab, "ab")
    js = rec.to_json(keys=["rnn.layers.0/f"])
    assert list(js["values"]) == ["rnn.layers.0/f"] and js["tokens"] == ["a", "b"] and js["targets"] == ["b", None]
    row = js["values"]["rnn.layers.0/f"][0]
    assert isinstance(row, list) and len(row) == 6 and all(type(v) is float and v == round(v, 4) for v in row)
    assert isinstance(js["predictions"][0][0][0], str) and js["labels"] is None
    with pytest.raises(KeyError, match="rnn.layers.0/h"):
        rec.to_json(keys=["nope"])
    with pytest.raises(DataError, match=f"MAX_TOKENS = {MAX_TOKENS}"):
        record_language_model(model, vocab, ["a"] * (MAX_TOKENS + 1))
    with pytest.raises(DataError, match="values"):
        Recording(["a"], {"x/h": np.zeros((2, 3), np.float32)})
