"""The SequenceClassifier: padding, pooling, gradients at padded steps, config, every cell."""
import pytest
import torch

from rnnlab.cells.registry import CELLS
from rnnlab.classify.model import SequenceClassifier
from rnnlab.errors import ConfigError, DataError

V, C = 7, 3
SEQUENCES = [[1, 2, 3, 4, 5], [6, 1], [2, 2, 3]]


def make(seed=0, **kw):
    torch.manual_seed(seed)
    kw = {"hidden_size": 5, "embedding_size": 4, **kw}
    return SequenceClassifier.build(V, C, **kw).eval()


def padded(sequences, pad=0):
    T = max(map(len, sequences))
    tokens = torch.full((T, len(sequences)), pad, dtype=torch.long)
    for b, s in enumerate(sequences):
        tokens[:len(s), b] = torch.tensor(s)
    return tokens, torch.tensor([len(s) for s in sequences])


def top_outputs(model, tokens, lengths):
    """The top layer's outputs (T, B, width), captured by a forward hook."""
    seen = []
    handle = model.encoder.layers[-1].register_forward_hook(lambda m, i, o: seen.append(o[0]))
    logits = model(tokens, lengths)
    handle.remove()
    return logits, seen[0]


CONFIGS = [dict(pool=p, bidirectional=bi, num_layers=n, cell=c) for p in ("last", "mean") for bi in (False, True)
           for n, c in ((1, "lstm"), (2, "gru"))] + [dict(embedding_size=0, cell="elman")]


@pytest.mark.parametrize("kw", CONFIGS)
def test_padding_changes_nothing(kw):
    model = make(**kw)
    logits = model(*padded(SEQUENCES, pad=5))
    assert logits.shape == (len(SEQUENCES), C)
    for b, s in enumerate(SEQUENCES):
        alone = model(torch.tensor(s).unsqueeze(1))  # lengths None: every step is real
        torch.testing.assert_close(logits[b], alone[0], atol=1e-6, rtol=0)
    torch.testing.assert_close(model(*padded(SEQUENCES, pad=-1)), logits, atol=0, rtol=0)  # any id pads


@pytest.mark.parametrize("bidirectional", [False, True])
def test_mean_pooling_is_the_mean_over_real_steps(bidirectional):
    model = make(pool="mean", bidirectional=bidirectional)
    tokens, lengths = padded(SEQUENCES)
    logits, h = top_outputs(model, tokens, lengths)
    pooled = torch.stack([h[:n, b].sum(0) / n for b, n in enumerate(lengths.tolist())])
    torch.testing.assert_close(logits, model.out(pooled), atol=1e-6, rtol=0)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_last_pooling_reads_each_directions_final_state(bidirectional):
    model = make(pool="last", bidirectional=bidirectional)
    tokens, lengths = padded(SEQUENCES)
    logits, h = top_outputs(model, tokens, lengths)
    last = torch.stack([h[n - 1, b] for b, n in enumerate(lengths.tolist())])
    if bidirectional:  # forward half at the last step, backward half at step 0
        last = torch.cat([last[:, :5], h[0, :, 5:]], dim=-1)
    torch.testing.assert_close(logits, model.out(last), atol=1e-6, rtol=0)


@pytest.mark.parametrize("kw", [dict(pool="last"), dict(pool="mean", bidirectional=True)])
def test_no_gradient_reaches_padded_steps(kw):
    model = make(**kw)
    tokens, lengths = padded(SEQUENCES)
    embedded = []

    def keep(module, inputs, output):
        output.retain_grad()
        embedded.append(output)
    model.embedding.register_forward_hook(keep)
    model(tokens, lengths).sum().backward()
    grad = embedded[0].grad  # (T, B, E)
    for b, n in enumerate(lengths.tolist()):
        assert torch.all(grad[n:, b] == 0)
        assert grad[:n, b].abs().sum(-1).min() > 0  # every real step does get gradient


@pytest.mark.parametrize("kw", [dict(), dict(cell="gru", num_layers=2, bidirectional=True, pool="mean", dropout=0.1,
                                         embedding_size=0)])
def test_config_round_trip(kw):
    import json
    model = make(**kw)
    config = json.loads(json.dumps(model.config()))
    rebuilt = SequenceClassifier.from_config(config)
    rebuilt.load_state_dict(model.state_dict())
    rebuilt.eval()
    args = padded(SEQUENCES)
    assert torch.equal(rebuilt(*args), model(*args))
    assert rebuilt.config() == model.config()
    with pytest.raises(ConfigError, match="does not describe a SequenceClassifier"):
        SequenceClassifier.from_config({**config, "colour": "red"})


@pytest.mark.parametrize("cell", list(CELLS))
def test_every_named_cell(cell):
    model = make(cell=cell, hidden_size=4, bidirectional=cell in ("lstm", "jordan"))
    logits = model(*padded(SEQUENCES))
    assert logits.shape == (3, C) and torch.isfinite(logits).all()
    logits.sum().backward()
    assert f"cell={cell!r}" in repr(model)


@pytest.mark.parametrize("tokens, lengths, message", [
    (torch.zeros(3, 2), None, "integer ids"),
    (torch.zeros(3, dtype=torch.long), None, r"\(time, batch\)"),
    (torch.zeros(0, 2, dtype=torch.long), None, r"\(time, batch\)"),
    (torch.full((3, 2), V, dtype=torch.long), None, r"token id out of range \[0, 7\)"),
    (torch.zeros(3, 2, dtype=torch.long), [3], "one entry per sequence"),
    (torch.zeros(3, 2, dtype=torch.long), [3, 4], r"every length must be in \[1, 3\]"),
    (torch.zeros(3, 2, dtype=torch.long), [0, 3], r"every length must be in \[1, 3\]"),
    (torch.zeros(3, 2, dtype=torch.long), [1.0, 2.0], "lengths must be integers"),
])
def test_bad_input(tokens, lengths, message):
    with pytest.raises(DataError, match=message):
        make()(tokens, lengths)


def test_bad_config():
    for kw, message in [(dict(pool="max"), "pool must be one of last, mean"), (dict(cell="nope"), "unknown cell"),
                        (dict(dropout=1.0), "dropout"), (dict(embedding_size=-1), "embedding_size")]:
        with pytest.raises(ConfigError, match=message):
            make(**kw)
    with pytest.raises(ConfigError, match="at least 2 classes"):
        SequenceClassifier.build(V, 1)


def test_modules_compose_and_old_state_dict_keys_load():
    """The constructor takes modules; a state_dict written by rnnlab 0.1 ("layers.K...") loads."""
    from torch import nn

    from rnnlab.layers.encoder import build_encoder
    from rnnlab.layers.pooling import make_pooling
    model = make(bidirectional=True, num_layers=2, pool="attention")
    old = {(k[len("encoder."):] if k.startswith("encoder.layers.") else k): v for k, v in model.state_dict().items()}
    assert any(k.startswith("layers.1.backward_layer") for k in old)
    torch.manual_seed(1)
    rebuilt = SequenceClassifier.from_config(model.config()).eval()
    rebuilt.load_state_dict(old)
    assert rebuilt.upgrade_state_dict(old).keys() == model.state_dict().keys()
    args = padded(SEQUENCES)
    assert torch.equal(rebuilt(*args), model(*args))
    encoder = build_encoder("gru", 4, 5)
    own = SequenceClassifier(nn.Embedding(V, 4), encoder, make_pooling("mean", encoder), nn.Linear(5, C))
    assert own(*args).shape == (3, C)
    with pytest.raises(ConfigError, match="built from modules"):
        own.config()
    with pytest.raises(ConfigError, match="encoder reads 4"):
        SequenceClassifier(nn.Embedding(V, 3), encoder, make_pooling("mean", encoder), nn.Linear(5, C))
