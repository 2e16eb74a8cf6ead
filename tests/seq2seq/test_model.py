import pytest
import torch

from rnnlab.errors import ConfigError, DataError
from rnnlab.seq2seq import Seq2Seq
from tests.helpers import gradcheck_module

SRC_V, TGT_V = 9, 7

PATHS = [
    dict(),                                                    # Sutskever: state copied
    dict(attention=True),
    dict(context_input=True),
    dict(attention=True, context_input=True),
    dict(bidirectional=True),                                  # learned bridge from [h→; h←]
    dict(bidirectional=True, attention=True, num_layers=2),
    dict(bridge="learned", context_input=True),
    dict(bridge="none", attention=True),
    dict(cell="lstm", num_layers=2, bidirectional=True, context_input=True),
    dict(cell="elman", attention=True, attention_size=5),
    dict(cell="clockwork", hidden_size=8, attention=True),    # a wrapped cell with an integer state leaf
]


def _model(**kw):
    torch.manual_seed(0)
    kw = {"cell": "gru", "hidden_size": 6, "embedding_size": 4, **kw}
    return Seq2Seq.build(SRC_V, TGT_V, **kw)


def _batch():
    g = torch.Generator().manual_seed(1)
    src = torch.randint(3, SRC_V, (6, 3), generator=g)
    lengths = torch.tensor([6, 2, 4])
    tgt = torch.randint(3, TGT_V, (5, 3), generator=g)
    return src, lengths, tgt


@pytest.mark.parametrize("kw", PATHS, ids=[",".join(f"{k}={v}" for k, v in p.items()) or "plain" for p in PATHS])
def test_every_path_respects_source_lengths(kw):
    """Whatever fills the padding, each example's logits are those it gets alone in a batch, and
    neither the padded tokens' embeddings nor padded attention positions get anything."""
    model = _model(**kw)
    src, lengths, tgt = _batch()
    logits, att = model(src, lengths, tgt)
    assert logits.shape == (5, 3, TGT_V)
    assert (att is None) == (not kw.get("attention", False))
    junk = src.clone()
    for b, n in enumerate(lengths):
        junk[n:, b] = (junk[n:, b] + 1 - 3) % (SRC_V - 3) + 3  # different padding tokens
    torch.testing.assert_close(model(junk, lengths, tgt)[0], logits)
    for b, n in enumerate(lengths.tolist()):
        alone, att_alone = model(src[:n, b:b + 1], None, tgt[:, b:b + 1])
        torch.testing.assert_close(alone[:, 0], logits[:, b], atol=1e-6, rtol=1e-5)
        if att is not None:
            assert (att[:, b, n:] == 0).all()
            torch.testing.assert_close(att[:, b, :n], att_alone[:, 0], atol=1e-6, rtol=1e-5)
    # zero gradient into the padded positions' embeddings
    emb = model.encoder.embedding
    captured = {}

    def keep(module, inputs, out):
        out.retain_grad()
        captured["x"] = out

    handle = emb.register_forward_hook(keep)
    logits, _ = model(src, lengths, tgt)
    handle.remove()
    logits.sum().backward()
    g = captured["x"].grad  # (S, B, E)
    for b, n in enumerate(lengths.tolist()):
        assert (g[n:, b] == 0).all()
        assert (g[:n, b].abs().sum(-1) > 0).all()


def test_gradcheck_whole_model_float64():
    model = _model(hidden_size=3, embedding_size=2, attention=True, context_input=True, bidirectional=True,
                   attention_size=2)
    src, lengths, tgt = _batch()
    assert gradcheck_module(model, src[:3], torch.tensor([3, 1, 2]), tgt[:2])


def test_dropout_only_in_training():
    model = _model(dropout=0.5, attention=True, num_layers=2)
    src, lengths, tgt = _batch()
    model.eval()
    torch.testing.assert_close(model(src, lengths, tgt)[0], model(src, lengths, tgt)[0], rtol=0, atol=0)
    model.train()
    assert not torch.allclose(model(src, lengths, tgt)[0], model(src, lengths, tgt)[0])


def test_bridges():
    src, lengths, tgt = _batch()
    m = _model()  # unidirectional, same sizes: "auto" copies the encoder's final states
    memory, state = m.encode(src, lengths)
    assert m.decoder.bridge == "copy" and m.decoder.bridge_proj is None
    assert state is memory.finals
    m = _model(cell="lstm", bidirectional=True)  # "auto" → learned: h from C, c = 0
    memory, (state,) = m.encode(src, lengths)
    assert m.decoder.bridge == "learned"
    assert memory.context.shape == (3, 12)
    torch.testing.assert_close(state[0], torch.tanh(m.decoder.bridge_proj(memory.context)))
    assert (state[1] == 0).all()
    m = _model(bridge="none", context_input=True)
    _, (state,) = m.encode(src, lengths)
    assert (state == 0).all()
    with pytest.raises(ConfigError, match="never sees the source"):
        _model(bridge="none")
    with pytest.raises(ConfigError, match="unidirectional"):
        _model(bridge="copy", bidirectional=True)
    with pytest.raises(ConfigError, match="unknown bridge"):
        _model(bridge="magic")


def test_context_is_forward_last_and_backward_first():
    m = _model(bidirectional=True)
    src, lengths, _ = _batch()
    memory, _ = m.encode(src, lengths)
    H = 6
    for b, n in enumerate(lengths.tolist()):
        torch.testing.assert_close(memory.context[b, :H], memory.states[n - 1, b, :H])  # h→ at the last token
        torch.testing.assert_close(memory.context[b, H:], memory.states[0, b, H:])      # h← at the first


def test_context_input_reaches_every_step():
    """With context_input the decoder still depends on the source when its state ignores it."""
    m = _model(bridge="none", context_input=True)
    src, lengths, tgt = _batch()
    a, _ = m(src, lengths, tgt)
    b, _ = m(src.flip(0), lengths, tgt)
    assert not torch.allclose(a[-1], b[-1])


def test_config_round_trip():
    m = _model(attention=True, bidirectional=True, num_layers=2)
    m2 = Seq2Seq.from_config(m.config())
    m2.load_state_dict(m.state_dict())
    src, lengths, tgt = _batch()
    torch.testing.assert_close(m(src, lengths, tgt)[0], m2(src, lengths, tgt)[0])
    with pytest.raises(ConfigError, match="does not describe"):
        Seq2Seq.from_config({**m.config(), "colour": "red"})


def test_bad_inputs():
    m = _model()
    src, lengths, tgt = _batch()
    with pytest.raises(DataError, match="out of range"):
        m(src + 100, lengths, tgt)
    with pytest.raises(DataError, match="integer"):
        m(src.float(), lengths, tgt)
    with pytest.raises(DataError, match="batch"):
        m(src, lengths, tgt[:, :2])
    with pytest.raises(ValueError, match="exceeds"):
        m(src, torch.tensor([7, 1, 1]), tgt)
    with pytest.raises(ConfigError, match="distinct"):
        Seq2Seq.build(SRC_V, TGT_V, bos_index=0)
    with pytest.raises(ConfigError, match="cell"):
        Seq2Seq.build(SRC_V, TGT_V, cell="nope")
