"""record_tagger: one Recording per sentence, labels as `TaggingTask.predict`, gold tags, top-k tags."""
import numpy as np
import pytest
import torch

from rnnlab.data.tagged import TaggedExample
from rnnlab.data.words import WordEncoder
from rnnlab.layers.word_features import WordFeatures
from rnnlab.errors import ConfigError, DataError
from rnnlab.explore import MAX_TOKENS, Recording, record_tagger
from rnnlab.explore.record_tagger import TaggerRecording
from rnnlab.tagging import Tagger, TaggingTask
from rnnlab.datasets.flights import flight_corpus

SPLITS = flight_corpus(60, 8, 8, seed=5)
ENCODER = WordEncoder.build([e.words for e in SPLITS["train"]])
TYPED = ["i want to leave boston in the morning", ["fares", "to", "denver"]]


def trained(steps=25, **kw):
    """A tiny tagger trained for a few dozen updates on the flight corpus (under a second)."""
    torch.manual_seed(0)
    feats = WordFeatures(ENCODER.word_vocab, ENCODER.trigram_vocab, trigrams=True, embedding_size=8, projection=8)
    task = TaggingTask(SPLITS, ENCODER, batch_size=12, seed=0)
    model = Tagger.build(feats, task.num_tags, hidden_size=8, num_intents=task.num_intents, **kw)
    opt = torch.optim.Adam(model.parameters(), lr=0.03)
    for step in range(steps):
        epoch, index = divmod(step, task.num_batches())
        opt.zero_grad()
        task.train_step(model, epoch + 1, index, None).loss.backward()
        opt.step()
    return task, model


@pytest.fixture(scope="module")
def lstm():
    threads = torch.get_num_threads()  # module fixtures run before the autouse one-thread fixture
    torch.set_num_threads(1)
    try:
        return trained(cell="lstm")
    finally:
        torch.set_num_threads(threads)


def check(task, model, examples, recs, top_k):
    assert len(recs) == len(examples)
    for ex, rec in zip(examples, recs):
        words = ex.words if isinstance(ex, TaggedExample) else (ex.split() if isinstance(ex, str) else ex)
        assert isinstance(rec, TaggerRecording) and isinstance(rec, Recording) and rec.tokens == list(words) and len(rec) == len(words)
        tags, intent = task.predict(model, words)
        assert rec.labels == tags
        assert rec.intent == intent
        if isinstance(ex, TaggedExample):
            assert rec.targets == ex.tags and rec.intent_target == ex.intent
        else:
            assert rec.targets is None and rec.intent_target is None
        assert len(rec.predictions) == len(words)
        for label, guesses in zip(rec.labels, rec.predictions):
            assert len(guesses) == min(top_k, task.num_tags)
            probs = [p for _, p in guesses]
            assert probs == sorted(probs, reverse=True) and sum(probs) <= 1 + 1e-6 and probs[0] > 0
            assert guesses[0][0] == label and all(t in task.tag_vocab for t, _ in guesses)
        assert [p for _, p in rec.intent_predictions] == sorted((p for _, p in rec.intent_predictions), reverse=True)
        assert rec.intent_predictions[0][0] == rec.intent
        for key, v in rec.values.items():
            assert v.shape[0] == len(words) and v.dtype == np.float32, key


def test_lstm_tagger(lstm):
    task, model = lstm
    examples = SPLITS["valid"][:4] + TYPED
    model.train()
    recs = record_tagger(model, ENCODER, task.tag_vocab, examples, top_k=3, intent_vocab=task.intent_vocab)
    assert model.training  # the mode is restored
    check(task, model, examples, recs, 3)
    assert set(recs[0].keys()) == {f"encoder.layers.0/{k}" for k in "hcifgo"}
    assert recs[0].units("encoder.layers.0/h") == 8
    # the trained tagger gets most gold tags: labels and targets are not the same list by accident
    hits = [p == g for r in recs[:4] for p, g in zip(r.labels, r.targets)]
    assert 0.5 < np.mean(hits)
    # each sentence is recorded alone, from a fresh state: the same as recording it by itself
    alone = record_tagger(model, ENCODER, task.tag_vocab, [examples[1]], intent_vocab=task.intent_vocab)[0]
    for key in recs[1].values:
        np.testing.assert_array_equal(alone.values[key], recs[1].values[key])
    # h is the layer's output: the recorded h of the last word feeds the tag layer
    with torch.no_grad():
        h = torch.from_numpy(recs[1].values["encoder.layers.0/h"])
        probs = torch.softmax(model.tag_out(h), -1)
    top = [[p for _, p in g] for g in recs[1].predictions]
    np.testing.assert_allclose(probs.max(-1).values.numpy(), [t[0] for t in top], rtol=1e-4, atol=1e-5)


def test_json_carries_labels_targets_and_intent(lstm):
    task, model = lstm
    ex = SPLITS["valid"][0]
    rec = record_tagger(model, ENCODER, task.tag_vocab, [ex], intent_vocab=task.intent_vocab)[0]
    js = rec.to_json(keys=["encoder.layers.0/h"])
    assert js["labels"] == rec.labels and js["targets"] == ex.tags and list(js["values"]) == ["encoder.layers.0/h"]
    assert js["intent"]["predicted"] == rec.intent and js["intent"]["target"] == ex.intent
    assert js["predictions"][0][0][0] == rec.predictions[0][0][0]
    # no intent vocabulary: the intent stays unnamed, tags still there
    bare = record_tagger(model, ENCODER, task.tag_vocab, [ex])[0]
    assert bare.intent is None and bare.to_json()["intent"] is None and bare.labels == rec.labels


def test_bidirectional_gru_tagger():
    task, model = trained(cell="gru", bidirectional=True, num_layers=2)
    examples = SPLITS["test"][:3] + TYPED[:1]
    recs = record_tagger(model, ENCODER, task.tag_vocab, examples, top_k=2, intent_vocab=task.intent_vocab)
    check(task, model, examples, recs, 2)
    assert set(recs[0].keys()) == {f"encoder.layers.{k}.{d}_layer/{kind}" for k in (0, 1) for d in ("forward", "backward")
                                   for kind in "hrzn"}


@pytest.mark.parametrize("feedback", [True, "softmax"])
def test_jordan_feedback_tagger_runs_free(feedback):
    task, model = trained(cell="lstm", jordan_feedback=feedback)
    examples = SPLITS["valid"][:3] + TYPED
    recs = record_tagger(model, ENCODER, task.tag_vocab, examples, top_k=4, intent_vocab=task.intent_vocab)
    check(task, model, examples, recs, 4)
    assert set(recs[0].keys()) == {f"encoder.layers.0/{k}" for k in "hcifgo"}
    # the recorded h is the free run's: the tag layer on it gives the free run's labels
    for rec in recs:
        with torch.no_grad():
            best = model.tag_out(torch.from_numpy(rec.values["encoder.layers.0/h"])).argmax(-1)
        assert task.tag_vocab.decode(best) == rec.labels


def test_errors(lstm):
    task, model = lstm
    with pytest.raises(DataError, match="empty"):
        record_tagger(model, ENCODER, task.tag_vocab, [[]])
    with pytest.raises(DataError, match="MAX_TOKENS"):
        record_tagger(model, ENCODER, task.tag_vocab, [["to"] * (MAX_TOKENS + 1)])
    with pytest.raises(ConfigError, match="top_k"):
        record_tagger(model, ENCODER, task.tag_vocab, TYPED, top_k=0)
    with pytest.raises(ConfigError, match="tag vocabulary"):
        record_tagger(model, ENCODER, task.intent_vocab, TYPED)


def test_a_crf_taggers_labels_are_its_viterbi_path():
    task, model = trained(cell="lstm", crf=True)
    with torch.no_grad():  # transitions strong enough that the path differs from the per-word argmax
        model.crf.transitions.normal_(0, 5.0)
    sentences = [e.words for e in SPLITS["valid"]]
    recs = record_tagger(model.eval(), ENCODER, task.tag_vocab, sentences)
    differs = False
    for words, rec in zip(sentences, recs):
        batch = ENCODER.encode([words])
        logits = model(batch)[0]
        path = task.tag_vocab.decode(model.crf.decode(logits, batch.lengths)[:, 0])
        assert list(rec.labels) == path == task.predict(model, words)[0]
        differs |= path != task.tag_vocab.decode(logits[:, 0].argmax(-1))
    assert differs
