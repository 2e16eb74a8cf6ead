"""The Tagger: uni/bidirectional encoders, padding, intent pooling, Jordan output feedback."""
import pytest
import torch

from rnnlab.data.words import WordEncoder
from rnnlab.layers.word_features import WordFeatures
from rnnlab.errors import ConfigError
from rnnlab.layers.pooling import MeanPooling
from rnnlab.tagging.model import IGNORE, Tagger

SENTENCES = [["show", "me", "flights", "from", "boston", "to", "new", "york"],
             ["fares", "to", "denver"],
             ["i", "want", "to", "leave", "boston"]]
NUM_TAGS = 5


def make(seed=0, **kw):
    torch.manual_seed(seed)
    enc = WordEncoder.build(SENTENCES)
    feats = WordFeatures(enc.word_vocab, enc.trigram_vocab, one_hot=True, trigrams=True, embedding_size=4)
    return Tagger.build(feats, NUM_TAGS, hidden_size=6, **kw).eval()


def single_and_batched(model, tags=None):
    """Each sentence run alone and in the padded batch; both results, sentence by sentence."""
    batch = model.features.encode(SENTENCES)
    logits, intents = model(batch, None if tags is None else tags)
    for b, s in enumerate(SENTENCES):
        one_tags = None if tags is None else tags[:len(s), b:b + 1]
        l1, i1 = model(model.features.encode([s]), one_tags)
        yield logits[:len(s), b], l1[:, 0], (None if intents is None else (intents[b], i1[0]))


CONFIGS = [
    dict(cell="lstm"), dict(cell="gru", num_layers=2, bidirectional=True), dict(cell="elman", bidirectional=True),
    dict(cell="jordan"), dict(cell=None), dict(cell="lstm", num_intents=3, intent_from="mean", bidirectional=True),
    dict(cell="lstm", num_intents=3, intent_from="last", num_layers=2), dict(cell="gru", jordan_feedback=True, num_intents=2),
]


@pytest.mark.parametrize("kw", CONFIGS)
def test_padding_changes_nothing(kw):
    """A sentence gives the same tag and intent logits alone as in a padded batch."""
    model = make(**kw)
    for batched, alone, intents in single_and_batched(model):
        torch.testing.assert_close(batched, alone, rtol=1e-5, atol=1e-6)
        if intents is not None:
            torch.testing.assert_close(*intents, rtol=1e-5, atol=1e-6)
    logits, intents = model(model.features.encode(SENTENCES))
    assert logits.shape == (8, 3, NUM_TAGS)
    assert (intents is None) == (not kw.get("num_intents"))


@pytest.mark.parametrize("kw", [dict(cell="lstm", bidirectional=True, num_intents=2),
                                dict(cell="gru", num_layers=2, num_intents=2, intent_from="mean"),
                                dict(cell="elman", jordan_feedback=True)])
def test_padded_positions_get_no_gradient(kw):
    model = make(**kw).train()
    batch = model.features.encode(SENTENCES)
    seen = {}

    def keep(module, inputs, out):
        out.retain_grad()
        seen["x"] = out

    model.features.register_forward_hook(keep)
    tags = torch.randint(0, NUM_TAGS, (8, 3))
    logits, intents = model(batch, tags)
    loss = logits.square().sum() + (0 if intents is None else intents.square().sum())
    # (squared logits at *every* step, padded ones too: the padded inputs must still get nothing)
    loss.backward()
    grad = seen["x"].grad
    for b, s in enumerate(SENTENCES):
        assert grad[len(s):, b].abs().sum() == 0
        assert grad[:len(s), b].abs().sum() > 0


def test_bidirectional_last_is_forward_final_and_backward_first():
    model = make(cell="lstm", bidirectional=True, num_intents=3, intent_from="last")
    top = {}
    model.encoder.layers[-1].register_forward_hook(lambda m, i, out: top.update(h=out[0]))
    batch = model.features.encode(SENTENCES)
    _, intents = model(batch)
    h, half = top["h"], top["h"].shape[-1] // 2
    for b, s in enumerate(SENTENCES):
        pooled = torch.cat([h[len(s) - 1, b, :half], h[0, b, half:]])
        torch.testing.assert_close(intents[b], model.intent_out(pooled))
    # and "mean" averages the true steps only
    model.pooling = MeanPooling()
    _, intents = model(batch)
    for b, s in enumerate(SENTENCES):
        torch.testing.assert_close(intents[b], model.intent_out(h[:len(s), b].mean(0)))


def test_feed_forward_tagger_sees_one_word():
    model = make(cell=None, bidirectional=True)
    a = model(model.features.encode([["fares", "to", "denver"]]))[0]
    b = model(model.features.encode([["fares", "from", "denver"]]))[0]
    assert torch.equal(a[[0, 2]], b[[0, 2]]) and not torch.equal(a[1], b[1])
    c = make(cell="lstm")
    a, b = (c(c.features.encode([s]))[0] for s in (["fares", "to", "denver"], ["fares", "from", "denver"]))
    assert not torch.allclose(a[2], b[2])  # a recurrent tagger does see the context


@pytest.mark.parametrize("cell, layers", [("lstm", 1), ("gru", 2), ("elman", 1), (None, 1)])
def test_free_running_equals_teacher_forcing_on_its_own_predictions(cell, layers):
    """Exactness of the feedback: the greedy step-by-step run and the one-pass teacher-forced run
    compute the same function when the teacher feeds the predicted tags."""
    model = make(cell=cell, num_layers=layers, jordan_feedback=True, num_intents=2)
    batch = model.features.encode(SENTENCES)
    free, free_intents = model(batch)
    predicted = free.argmax(-1)
    for b, s in enumerate(SENTENCES):
        predicted[len(s):, b] = IGNORE
    forced, forced_intents = model(batch, predicted)
    torch.testing.assert_close(forced, free, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(forced_intents, free_intents, rtol=1e-5, atol=1e-6)


def test_teacher_forcing_is_causal_and_uses_the_gold_tags():
    model = make(cell="gru", jordan_feedback=True)
    batch = model.features.encode(SENTENCES[:1])
    tags = torch.randint(0, NUM_TAGS, (8, 1))
    changed = tags.clone()
    changed[3] = (tags[3] + 1) % NUM_TAGS
    a, b = model(batch, tags)[0], model(batch, changed)[0]
    assert torch.equal(a[:4], b[:4])  # steps up to 3 do not see tag 3
    assert not torch.allclose(a[4], b[4])  # step 4 reads it


def test_softmax_feedback_is_differentiable_and_different():
    model = make(cell="lstm", jordan_feedback="softmax").train()
    batch = model.features.encode(SENTENCES)
    logits, _ = model(batch)  # free running in training: the gradient flows through the feedback
    logits[-1].sum().backward()
    assert model.encoder.layers[0].cell.weight_ih.grad is not None
    greedy = make(cell="lstm", jordan_feedback=True)
    greedy.load_state_dict(model.state_dict())
    model.eval()
    a, b = model(batch)[0], greedy(batch)[0]
    torch.testing.assert_close(a[0], b[0])  # same first step (nothing fed back yet)
    assert not torch.allclose(a[1:], b[1:])


def test_configuration_errors():
    with pytest.raises(ConfigError, match="jordan_feedback needs a left-to-right encoder"):
        make(jordan_feedback=True, bidirectional=True)
    with pytest.raises(ConfigError, match="intent_from must be"):
        make(intent_from="first")
    with pytest.raises(ConfigError, match="unknown cell 'lsmt'"):
        make(cell="lsmt")
    with pytest.raises(ConfigError, match="jordan_feedback must be"):
        make(jordan_feedback="yes")


def test_free_run_is_a_recurrent_over_the_feedback_cell():
    """The free run is `Recurrent(TagFeedbackCell)`: stepping the cell by hand gives its logits."""
    from rnnlab.tagging.feedback import TagFeedbackCell
    model = make(cell="gru", num_layers=2, jordan_feedback=True)
    batch = model.features.encode(SENTENCES[:1])
    logits, _ = model(batch)
    cell = TagFeedbackCell(model.encoder, model.tag_out, "greedy").eval()
    x, state = model.features(batch), cell.init_state(1)
    for t in range(x.shape[0]):
        out, state = cell(x[t], state)
        torch.testing.assert_close(out[:, -NUM_TAGS:], logits[t])
        assert torch.equal(state[1], torch.nn.functional.one_hot(out[:, -NUM_TAGS:].argmax(-1), NUM_TAGS).float())


def test_old_state_dict_keys_load():
    model = make(cell="lstm", num_layers=2, num_intents=3, intent_from="attention")
    old = {(k[len("encoder."):] if k.startswith("encoder.") else k): v for k, v in model.state_dict().items()}
    rebuilt = make(seed=1, cell="lstm", num_layers=2, num_intents=3, intent_from="attention")
    rebuilt.load_state_dict(old)
    batch = model.features.encode(SENTENCES)
    for a, b in zip(model(batch), rebuilt(batch)):
        assert torch.equal(a, b)
    assert rebuilt.config()["intent_from"] == "attention"
