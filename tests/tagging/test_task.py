"""TaggingTask: deterministic batches, loss over real tokens, evaluation, prediction, exact resume."""
import pytest
import torch

from rnnlab.data.tagged import TaggedExample
from rnnlab.data.words import WordEncoder
from rnnlab.layers.word_features import WordFeatures
from rnnlab.errors import ConfigError, DataError
from rnnlab.tagging import IGNORE, Tagger, TaggingTask
from rnnlab.datasets.flights import flight_corpus
from rnnlab.train import TrainConfig, Trainer


def setup(n_train=40, seed=0, intents=True, **model_kw):
    splits = flight_corpus(n_train, 10, 10, seed=3)
    if not intents:
        splits = {k: [TaggedExample(e.words, e.tags) for e in v] for k, v in splits.items()}
    enc = WordEncoder.build([e.words for e in splits["train"]])
    torch.manual_seed(0)
    feats = WordFeatures(enc.word_vocab, enc.trigram_vocab, trigrams=True, embedding_size=8, projection=8)
    task = TaggingTask(splits, feats, batch_size=8, seed=seed, eval_batch_size=4)
    model = Tagger.build(feats, task.num_tags, hidden_size=8, num_intents=task.num_intents, **model_kw)
    return splits, task, model


def test_batches_depend_only_on_seed_and_epoch():
    splits, task, _ = setup(n_train=37)
    assert task.num_batches() == 5
    again = TaggingTask(splits, task.encoder, batch_size=8, seed=0)
    for epoch in (1, 2):
        rows = [task.batch_examples(epoch, i) for i in range(5)]
        assert [len(r) for r in rows] == [8, 8, 8, 8, 5]
        flat = [id(e) for r in rows for e in r]
        assert sorted(flat) == sorted(id(e) for e in splits["train"])  # each sentence once per epoch
        # another task object, batches asked in another order: the same batches
        assert [again.batch_examples(epoch, i) for i in reversed(range(5))] == rows[::-1]
    assert task.batch_examples(1, 0) != task.batch_examples(2, 0)
    other_seed = TaggingTask(splits, task.encoder, batch_size=8, seed=1)
    assert other_seed.batch_examples(1, 0) != task.batch_examples(1, 0)


def test_batch_tensors_pad_with_ignore():
    splits, task, _ = setup()
    examples = sorted(splits["train"][:3], key=lambda e: len(e.words))
    words, tags, intents = task.make_batch(examples)
    T = max(len(e.words) for e in examples)
    assert tags.shape == words.word_ids.shape == (T, 3)
    for b, e in enumerate(examples):
        assert task.tag_vocab.decode(tags[:len(e.words), b]) == e.tags
        assert (tags[len(e.words):, b] == IGNORE).all()
    assert task.intent_vocab.decode(intents) == [e.intent for e in examples]
    assert task.tag_vocab[0] == "O"


def test_loss_is_mean_over_real_tokens_plus_intent():
    _, task, model = setup()
    out = task.train_step(model, 1, 0, None)
    words, tags, intents = task.make_batch(task.batch_examples(1, 0))
    logits, intent_logits = model(words, tags)
    real = tags != IGNORE
    want = -torch.log_softmax(logits, -1)[real].gather(1, tags[real].unsqueeze(1)).mean()
    want = want - torch.log_softmax(intent_logits, -1).gather(1, intents.unsqueeze(1)).mean()
    torch.testing.assert_close(out.loss, want)
    assert out.tokens == int(real.sum()) and out.carry is None


def test_evaluate_and_predict():
    splits, task, model = setup()
    m = task.evaluate(model, "valid")
    assert set(m) == {"loss", "slot_precision", "slot_recall", "slot_f1", "error", "token_accuracy", "intent_accuracy"}
    assert m["error"] == pytest.approx(1 - m["slot_f1"])
    assert model.training  # evaluate restores the mode
    tags, intent = task.predict(model, "i want to leave boston in the morning")
    assert len(tags) == 8 and all(t in task.tag_vocab for t in tags) and intent in task.intent_vocab
    assert task.predict(model, "i want to leave boston in the morning".split()) == (tags, intent)
    with pytest.raises(DataError, match="no 'dev' split"):
        task.evaluate(model, "dev")


def test_unknown_gold_labels_score_as_errors_but_leave_the_loss_finite():
    splits, task, model = setup()
    e = splits["valid"][0]
    odd = TaggedExample(e.words, ["B-never_seen"] + e.tags[1:], "atis_never_seen")
    task.splits["odd"] = [odd]
    words, tags, intents = task.make_batch([odd])
    assert tags[0, 0] == IGNORE and intents.tolist() == [IGNORE]
    m = task.evaluate(model, "odd")
    assert m["intent_accuracy"] == 0.0 and m["slot_recall"] < 1.0
    assert torch.isfinite(torch.tensor(m["loss"]))


def test_without_intents():
    _, task, model = setup(intents=False)
    assert task.num_intents == 0 and model.intent_out is None
    assert "intent_accuracy" not in task.evaluate(model, "valid")
    assert task.predict(model, "fares to denver")[1] is None
    _, _, model = setup(intents=True)
    _, task, _ = setup(intents=False)
    assert model.num_intents >= 2
    with pytest.raises(ConfigError, match=f"the model predicts {model.num_intents} intents but the task has 0"):
        task.train_step(model, 1, 0, None)


def test_mixed_intents_are_refused():
    splits = flight_corpus(4, 2, 2)
    splits["train"][1] = TaggedExample(splits["train"][1].words, splits["train"][1].tags)
    with pytest.raises(DataError, match="split 'train' has intents for some sentences but not for others"):
        TaggingTask(splits, WordEncoder.build([e.words for e in splits["train"]]))


def test_resume_is_exact(tmp_path):
    """Stopping after 3 updates and resuming ends with the weights of an uninterrupted run."""
    def run(run_dir, **stop):
        _, task, model = setup(n_train=24, dropout=0.2)
        cfg = TrainConfig(epochs=2, lr=1e-2, **stop)
        trainer = Trainer(model, task, cfg, run_dir, progress=False, tensorboard=False)
        return trainer, model

    trainer, _ = run(tmp_path / "a", max_steps=4)
    assert trainer.fit()["stopped"] == "max_steps"
    trainer, resumed = run(tmp_path / "a")
    trainer.restore()
    trainer.fit()
    trainer, straight = run(tmp_path / "b")
    trainer.fit()
    for (name, a), b in zip(resumed.state_dict().items(), straight.state_dict().values()):
        assert torch.equal(a, b), name


def test_crf_head_trains_by_its_likelihood_and_decodes_by_viterbi():
    from rnnlab.tagging.bio import bio_constraints
    splits, task, model = setup(n_train=80, crf=True)
    model.crf.constrain(*bio_constraints(task.tag_vocab.tokens))
    assert "crf" in model.config() and "crf" not in setup()[2].config()  # old configs (no key) mean no CRF
    words, tags, intents = task.make_batch(task.batch_examples(0, 0))
    logits, intent_logits = model(words)
    expected = (-model.crf.log_likelihood(logits, tags, words.lengths).sum() / int(words.lengths.sum())
                + torch.nn.functional.cross_entropy(intent_logits, intents))
    got = task.train_step(model, 0, 0, None).loss
    assert torch.allclose(got, expected)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    before = task.evaluate(model, "valid")["loss"]
    for epoch in range(4):
        for i in range(task.num_batches()):
            opt.zero_grad()
            task.train_step(model.train(), epoch, i, None).loss.backward()
            opt.step()
    assert task.evaluate(model, "valid")["loss"] < before
    model.eval()
    # predictions are the CRF's Viterbi path of the logits
    sentence = splits["valid"][0].words
    batch = task.encoder.encode([sentence])
    path = model.crf.decode(model(batch)[0], batch.lengths)[:, 0]
    assert task.predict(model, sentence)[0] == task.tag_vocab.decode(path)


def test_crf_with_jordan_feedback_is_refused():
    with pytest.raises(ConfigError, match="CRF head cannot be combined with jordan_feedback"):
        setup(crf=True, jordan_feedback=True)
