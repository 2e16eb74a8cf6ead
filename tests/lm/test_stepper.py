"""Generation's fast path (rnnlab/lm/stepper.py): the same logits bit for bit as calling the model,
the same samples from `generate`, and the model's own call wherever the stepper could differ."""
import pytest
import torch
from torch import nn

from rnnlab.cells.registry import cell_names
from rnnlab.layers.encoder import build_encoder
from rnnlab.lm import LanguageModel, Stepper, generate
from rnnlab.lm import sampling

V = 11


def model_of(cell="lstm", num_layers=1, **kw):
    torch.manual_seed(0)
    return LanguageModel.build(V, cell=cell, hidden_size=8, num_layers=num_layers, embedding_size=6, **kw).eval()


def general_path(monkeypatch):
    """generate without the stepper: the model called once per token, as before the stepper."""
    monkeypatch.setattr(sampling.Stepper, "of", classmethod(lambda cls, model: None))


def assert_steps_equal_calls(model, tokens=(3, 0, 10, 7, 7, 1, 5, 2)):
    """stepper(token, state) returns exactly (torch.equal) the logits and state of model(tensor([[token]]), state)."""
    stepper = Stepper.of(model)
    assert stepper is not None
    with torch.inference_mode():
        _, s_model = model(torch.tensor([[4], [9]]))
        s_step = s_model
        for token in tokens:
            want, s_model = model(torch.tensor([[token]]), s_model)
            got, s_step = stepper(token, s_step)
            assert got.shape == want.shape == (1, 1, V)
            assert torch.equal(got, want)
            for a, b in zip(_leaves(s_step), _leaves(s_model)):
                assert torch.equal(a, b)


def _leaves(state):
    if isinstance(state, torch.Tensor):
        return [state]
    return [leaf for part in state for leaf in _leaves(part)]


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("cell", cell_names())
def test_a_step_is_the_model_call_bit_for_bit(cell, num_layers):
    # every named cell: the fused ones (lstm, gru, elman and their variants) through their kernels
    # for T = 1, the others (jordan, narx, clockwork, ...) through their step
    assert_steps_equal_calls(model_of(cell, num_layers))


@pytest.mark.parametrize("cell", ["lstm", "gru", "elman", "lstm-peephole", "gru-layernorm"])
def test_float64_and_one_hot_input_and_residual_layers(cell):
    assert_steps_equal_calls(model_of(cell, 2).double())
    torch.manual_seed(0)
    assert_steps_equal_calls(LanguageModel.build(V, cell=cell, hidden_size=8, num_layers=2, embedding_size=0).eval())
    torch.manual_seed(0)
    residual = LanguageModel(nn.Embedding(V, 8), build_encoder(cell, 8, 8, 3, residual=True), nn.Linear(8, V)).eval()
    assert_steps_equal_calls(residual)
    torch.manual_seed(0)  # a bare Recurrent as the encoder (its state is the cell's, not a per-layer tuple)
    bare = LanguageModel(nn.Embedding(V, 6), build_encoder(cell, 6, 8, 1).layers[0], nn.Linear(8, V)).eval()
    assert_steps_equal_calls(bare)


@pytest.mark.parametrize("cell,num_layers", [("lstm", 1), ("gru", 2), ("elman", 1), ("lstm-layernorm", 2),
                                             ("lstm-peephole", 1), ("narx", 2)])
@pytest.mark.parametrize("temperature,top_k", [(1.0, None), (0.7, 4), (1.3, None), (0.0, None), (0.5, 1)])
def test_generate_samples_the_same_tokens_as_the_general_path(cell, num_layers, temperature, top_k, monkeypatch):
    model = model_of(cell, num_layers)
    prime = torch.tensor([1, 2, 3])
    fast = list(generate(model, prime, 40, temperature=temperature, top_k=top_k, seed=5))
    general_path(monkeypatch)
    assert list(generate(model, prime, 40, temperature=temperature, top_k=top_k, seed=5)) == fast


def test_generate_steps_through_the_stepper(monkeypatch):
    model = model_of("gru", 2)
    calls = []
    forward = LanguageModel.forward
    monkeypatch.setattr(LanguageModel, "forward", lambda self, tokens, state=None: (calls.append(tuple(tokens.shape)),
                                                                                     forward(self, tokens, state))[1])
    out = list(generate(model, torch.tensor([1, 2, 3]), 12, seed=0))
    assert len(out) == 12 and calls == [(3, 1)]  # the prime goes through the model, every token through the stepper


def test_what_the_stepper_cannot_reproduce_is_called(monkeypatch):
    model = model_of("lstm", 2)
    prime = torch.tensor([1, 2, 3])
    want = list(generate(model, prime, 15, seed=1))
    # a forward hook must see its call: the model is called per token, and the samples are the same
    seen = []
    handle = model.rnn.layers[1].register_forward_hook(lambda module, args, out: seen.append(args[0].shape[0]))
    assert Stepper.of(model) is None
    assert list(generate(model, prime, 15, seed=1)) == want
    assert seen == [3] + [1] * 14
    handle.remove()
    # training mode (dropout), a patched forward, a bidirectional encoder, another model class
    assert Stepper.of(model.train()) is None
    model.eval()
    model.forward = lambda tokens, state=None: LanguageModel.forward(model, tokens, state)
    assert Stepper.of(model) is None
    assert list(generate(model, prime, 15, seed=1)) == want
    del model.forward
    torch.manual_seed(0)
    bidirectional = LanguageModel(nn.Embedding(V, 6), build_encoder("gru", 6, 4, 1, bidirectional=True),
                                  nn.Linear(8, V)).eval()
    assert Stepper.of(bidirectional) is None
    assert len(list(generate(bidirectional, prime, 5, seed=0))) == 5
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert Stepper.of(model) is None


class TorchLM(nn.Module):
    """Any model with the `model(tokens, state) -> (logits, state)` call, here from torch.nn modules."""

    def __init__(self):
        super().__init__()
        self.embedding, self.rnn, self.decoder = nn.Embedding(V, 6), nn.GRU(6, 8), nn.Linear(8, V)

    def forward(self, tokens, state=None):
        h, state = self.rnn(self.embedding(tokens), state)
        return self.decoder(h), state


def test_any_model_still_generates(monkeypatch):
    torch.manual_seed(0)
    model = TorchLM()
    assert Stepper.of(model) is None
    out = list(generate(model, torch.tensor([1, 2]), 20, temperature=0.8, top_k=5, seed=3))
    assert len(out) == 20 and all(0 <= t < V for t in out)
    assert model.training  # restored


def test_generation_leaves_grad_mode_alone_between_tokens():
    model = model_of("elman", 2)
    tokens = generate(model, torch.tensor([1, 2]), 5, seed=0)
    next(tokens)
    # inference mode is on only while the generator runs, not for the code that consumes it
    assert torch.is_grad_enabled() and not torch.is_inference_mode_enabled()
    w = torch.ones(2, requires_grad=True)
    (w * 2).sum().backward()
    assert len(list(tokens)) == 4


def test_sampling_options_are_checked_before_any_work():
    from rnnlab.errors import ConfigError, DataError

    model = model_of("gru")
    with pytest.raises(ConfigError, match="temperature"):
        next(generate(model, torch.tensor([1]), 3, temperature=-0.5))
    with pytest.raises(ConfigError, match="top_k"):
        next(generate(model, torch.tensor([1]), 3, top_k=0))
    with pytest.raises(DataError, match="out of range"):
        next(generate(model, torch.tensor([1, V]), 3))
