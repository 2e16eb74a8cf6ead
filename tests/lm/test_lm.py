"""Language model, sampling and evaluation."""
import math

import pytest
import torch
from torch.nn import functional as F

from rnnlab.cells.registry import cell_names
from rnnlab.layers.sequence import OneHot
from rnnlab.errors import ConfigError, DataError
from rnnlab.lm import LanguageModel, generate, sample_next
from rnnlab.lm.task import evaluate_stream


@pytest.mark.parametrize("cell", cell_names())
def test_every_named_cell_makes_a_language_model(cell):
    torch.manual_seed(0)
    model = LanguageModel.build(11, cell=cell, hidden_size=8, num_layers=2, embedding_size=4)
    tokens = torch.randint(0, 11, (5, 3))
    logits, state = model(tokens)
    assert logits.shape == (5, 3, 11)
    # the state carries: two halves with the state passed on == one pass
    a, s = model(tokens[:2])
    b, _ = model(tokens[2:], s)
    torch.testing.assert_close(torch.cat([a, b]), logits, rtol=1e-5, atol=1e-6)
    assert LanguageModel.from_config(model.config()).config() == model.config()


def test_one_hot_input_equals_embedding_with_identity_weights():
    torch.manual_seed(0)
    onehot = LanguageModel.build(6, hidden_size=5, num_layers=1, embedding_size=0)
    embed = LanguageModel.build(6, hidden_size=5, num_layers=1, embedding_size=6)
    embed.load_state_dict({**onehot.state_dict(), "embedding.weight": torch.eye(6)})
    tokens = torch.randint(0, 6, (4, 2))
    torch.testing.assert_close(onehot(tokens)[0], embed(tokens)[0])
    assert isinstance(onehot.embedding, OneHot) and not any(k.startswith("embedding") for k in onehot.state_dict())


def test_tied_weights_and_init_range():
    model = LanguageModel.build(9, hidden_size=6, embedding_size=6, tie_weights=True, init_range=0.1)
    assert model.decoder.weight is model.embedding.weight
    assert all(p.abs().max() <= 0.1 for p in model.parameters())
    with pytest.raises(ConfigError, match="tie_weights needs embedding_size == hidden_size"):
        LanguageModel.build(9, hidden_size=6, embedding_size=4, tie_weights=True)


def test_bad_tokens_are_named():
    model = LanguageModel.build(5, hidden_size=4, num_layers=1)
    with pytest.raises(DataError, match=r"out of range \[0, 5\).*max 7"):
        model(torch.tensor([[1], [7]]))
    with pytest.raises(DataError, match="integer ids"):
        model(torch.zeros(3, 1))
    with pytest.raises(DataError, match=r"\(T, B\)"):
        model(torch.zeros(3, dtype=torch.long))
    with pytest.raises(ConfigError, match="unknown cell 'lsmt'"):
        LanguageModel.build(5, cell="lsmt")


def test_generation_never_reruns_the_prefix():
    torch.manual_seed(0)
    model = LanguageModel.build(7, hidden_size=8, num_layers=2)
    calls = []
    forward = model.forward
    model.forward = lambda tokens, state=None: (calls.append(tuple(tokens.shape)), forward(tokens, state))[1]
    prime = torch.tensor([1, 2, 3, 4, 5])
    out = list(generate(model, prime, 6, seed=0))
    assert len(out) == 6 and all(0 <= t < 7 for t in out)
    assert calls[0] == (5, 1) and all(c == (1, 1) for c in calls[1:])
    # and step-by-step generation equals re-running the whole sequence each time (greedy)
    model.forward = forward
    greedy = list(generate(model, prime, 5, temperature=0))
    seq = prime.tolist()
    for _ in range(5):
        logits, _ = model(torch.tensor(seq).view(-1, 1))
        seq.append(int(logits[-1, 0].argmax()))
    assert greedy == seq[5:]


def test_sampling_temperature_and_top_k():
    logits = torch.tensor([[0.0, 3.0, 1.0, 2.0]])
    assert sample_next(logits, temperature=0).item() == 1
    assert sample_next(logits, top_k=1).item() == 1
    g = torch.Generator().manual_seed(0)
    draws = {int(sample_next(logits, temperature=1.0, top_k=2, generator=g)) for _ in range(200)}
    assert draws == {1, 3}
    g = torch.Generator().manual_seed(0)
    cold = [int(sample_next(logits, temperature=0.05, generator=g)) for _ in range(50)]
    assert cold.count(1) == 50
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    assert [int(sample_next(logits, generator=g1)) for _ in range(20)] == [int(sample_next(logits, generator=g2)) for _ in range(20)]
    with pytest.raises(ConfigError, match="temperature"):
        sample_next(logits, temperature=-1)
    with pytest.raises(ConfigError, match="top_k"):
        sample_next(logits, top_k=0)


def test_evaluation_equals_one_full_pass():
    torch.manual_seed(0)
    model = LanguageModel.build(8, hidden_size=6, num_layers=2).double()
    ids = torch.randint(0, 8, (600,))
    logits, _ = model(ids[:-1].view(-1, 1))
    direct = F.cross_entropy(logits.flatten(0, 1), ids[1:]).item()
    got = evaluate_stream(model, ids, 1, "char")  # chunks of 256 with the state carried
    assert got["loss"] == pytest.approx(direct, abs=1e-12)
    assert got["bpc"] == pytest.approx(direct / math.log(2)) and got["ppl"] == pytest.approx(math.exp(direct))
    assert got["tokens"] == 599 and "bpc" not in evaluate_stream(model, ids, 1, "word")
