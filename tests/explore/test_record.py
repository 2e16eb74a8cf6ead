"""The Recorder records exactly what the layers computed, per unit, gate and step."""
import numpy as np
import pytest
import torch
from torch import nn

from rnnlab import (Bidirectional, ClockworkCell, ElmanCell, GRUCell, LeakyCell, LSTMCell, Recurrent, SkipCell,
                    Stacked, Zoneout)
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


def _lstm_by_hand(cell, x, h, c):
    """Per-step h, c, i, f, g, o from cell.gates, time-major."""
    out = {k: [] for k in "hcifgo"}
    for t in range(x.shape[0]):
        i, f, g, o, c = cell.gates(x[t], h, c)
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
    assert set(v) == set("hcifgo") and all(t.shape == (7, 2, 5) and t.dtype == torch.float32 for t in v.values())
    if fused is False:  # the same operations in the same order: bit for bit
        assert torch.equal(v["h"], y) and torch.equal(v["c"][-1], c)
    torch.testing.assert_close(v["h"], y, atol=1e-6, rtol=1e-6)
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
            r, z, n = cell.gates(x[t], h)
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
    layers = [m for m in net.modules() if isinstance(m, (Recurrent, LSTMCell))]
    with Recorder(net):
        assert all(len(m._forward_hooks) == 1 for m in layers if isinstance(m, Recurrent))
    assert all(not m._forward_hooks for m in layers)
    with pytest.raises(ValueError), Recorder(net):
        net(torch.randn(4, 2, 9))  # wrong input size: the layer raises before its hook
    assert all(not m._forward_hooks for m in layers)
    with Recorder(net):
        net(torch.randn(4, 2, 3))
    assert all(not m._forward_hooks and "gates" not in vars(m) for m in layers)  # the gate spy is gone too


def test_wrapped_cells_record_the_inner_gates_and_the_carried_state():
    torch.manual_seed(5)
    leaky = LeakyCell(LSTMCell(3, 4), alpha=0.7)
    net = Net(Stacked([Recurrent(leaky), Recurrent(SkipCell(GRUCell(4, 4), delay=2)),
                       Recurrent(ClockworkCell(ElmanCell(4, 4), periods=(1, 2)))]))
    x = torch.randn(6, 2, 3)
    with Recorder(net) as rec:
        y, (s0, s1, s2) = net(x)
    v = rec.values
    assert set(v["body.layers.0"]) == set("hcifgo") and set(v["body.layers.1"]) == set("hrzn")
    assert set(v["body.layers.2"]) == {"h"}
    torch.testing.assert_close(v["body.layers.2"]["h"], y, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(v["body.layers.0"]["c"][-1], s0[1], atol=1e-6, rtol=1e-6)  # the mixed c
    with torch.no_grad():  # step 0 from the zero state: the inner cell's own gates
        i, f, g, o, _ = leaky.cell.gates(x[0], torch.zeros(2, 4), torch.zeros(2, 4))
    torch.testing.assert_close(v["body.layers.0"]["i"][0], i)


def test_a_recording_that_differs_from_the_computation_is_refused():
    torch.manual_seed(6)
    net = Net(Recurrent(Zoneout(LSTMCell(3, 8), p=0.5)))  # training mode: fresh random masks
    with pytest.raises(RuntimeError, match="eval mode"), Recorder(net):
        net(torch.randn(5, 2, 3))
    net.eval()
    with Recorder(net) as rec:
        y, _ = net(torch.randn(5, 2, 3))
    torch.testing.assert_close(rec.values["body"]["h"], y)


def _lm(num_layers=2, seed=0):
    vocab = Vocabulary(["<unk>", "a", "b", "\n"])
    torch.manual_seed(seed)
    return LanguageModel(len(vocab), hidden_size=6, num_layers=num_layers, embedding_size=3), vocab


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
