"""ClassificationTask: batches, vocabularies, evaluation, prediction, and training with the Trainer."""
import pytest
import torch

from rnnlab.classify import ClassificationTask, SequenceClassifier
from rnnlab.data.labelled import LabelledExample
from rnnlab.data.vocab import Vocabulary
from rnnlab.errors import ConfigError, DataError
from rnnlab.datasets.grammar import classification_examples
from rnnlab.train import TrainConfig, Trainer


def ex(text, label):
    return LabelledExample(tuple(text), label)


SPLITS = {"train": [ex("ab", "x"), ex("abc", "y"), ex("b", "x"), ex("cca", "y"), ex("a", "x")],
          "valid": [ex("ba", "x"), ex("abd", "y"), ex("c", "z")]}  # "d" and "z" never occur in training


def setup(splits=SPLITS, **kw):
    task = ClassificationTask(splits, ClassificationTask.build_vocab(splits["train"]), **kw)
    torch.manual_seed(0)
    return task, SequenceClassifier.build(len(task.vocab), task.num_classes, hidden_size=4, embedding_size=3)


def test_vocabularies():
    task, _ = setup()
    assert task.vocab.unk == "<unk>" and set(task.vocab.tokens) == {"<unk>", "a", "b", "c"}
    assert task.label_vocab.tokens == ("x", "y") and task.label_vocab.unk is None and task.num_classes == 2
    tokens, lengths, labels = task.make_batch(task._ids["valid"])
    assert lengths.tolist() == [2, 3, 1] and labels.tolist() == [0, 1, -100]
    assert tokens[2, 1] == task.vocab.unk_index and tokens[1:, 2].tolist() == [0, 0]  # "d" → unk; padding 0


def test_unknown_tokens_without_unk_are_named():
    vocab = ClassificationTask.build_vocab(SPLITS["train"], unk=None)
    with pytest.raises(DataError, match=r"split 'valid': 1 token\(s\) not in the vocabulary: 'd'"):
        ClassificationTask(SPLITS, vocab)


def test_bad_setups():
    with pytest.raises(DataError, match="no training examples"):
        ClassificationTask({"valid": SPLITS["valid"]}, Vocabulary(["a"], unk=None))
    with pytest.raises(DataError, match="only one label"):
        setup({"train": [ex("a", "x"), ex("b", "x")]})
    with pytest.raises(DataError, match=r"training labels missing from the label vocabulary: \['y'\]"):
        ClassificationTask(SPLITS, Vocabulary(["a", "b", "c"], unk=None), Vocabulary(["x", "q"], unk=None))
    with pytest.raises(ConfigError, match="batch sizes"):
        setup(batch_size=0)
    task, _ = setup()
    with pytest.raises(ConfigError, match="build it with num_classes=2"):
        task.evaluate(SequenceClassifier.build(len(task.vocab), 3, hidden_size=4), "valid")
    with pytest.raises(DataError, match="no 'test' split"):
        task.evaluate(SequenceClassifier.build(len(task.vocab), 2, hidden_size=4), "test")


def test_epoch_order_depends_on_seed_and_epoch_only():
    task, _ = setup(batch_size=2, seed=3)
    other, _ = setup(batch_size=2, seed=3)
    assert task.num_batches() == 3
    rows = [task.batch_rows(1, i) for i in range(3)]
    assert sorted(sum(rows, [])) == list(range(5))
    other.batch_rows(2, 0)  # visiting another epoch first changes nothing
    assert [other.batch_rows(1, i) for i in range(3)] == rows
    assert [task.batch_rows(e, i) for e in range(1, 6) for i in range(3)] != rows * 5  # reshuffled every epoch
    with pytest.raises(IndexError):
        task.batch_rows(1, 3)


def test_unknown_gold_labels_are_ignored_in_the_loss_but_counted_wrong():
    task, model = setup()
    model.train()
    metrics = task.evaluate(model, "valid")
    assert model.training  # the previous mode is restored
    predictions = task.predict_many(model, [e.tokens for e in SPLITS["valid"]])
    correct = sum(p == e.label for (p, _), e in zip(predictions, SPLITS["valid"]))
    assert metrics["accuracy"] == pytest.approx(correct / 3) and metrics["error"] == pytest.approx(1 - correct / 3)
    nll = -sum(torch.log(torch.tensor(probs[e.label])) for (_, probs), e in zip(predictions, SPLITS["valid"][:2]))
    assert metrics["loss"] == pytest.approx(float(nll) / 2, rel=1e-5)


def test_predict():
    task, model = setup()
    label, probs = task.predict(model, ["a", "b", "zzz"])
    assert label in ("x", "y") and set(probs) == {"x", "y"} and sum(probs.values()) == pytest.approx(1.0)
    assert probs[label] == max(probs.values())
    with pytest.raises(DataError, match=r"is a string; pass its tokens"):
        task.predict(model, "ab")
    with pytest.raises(DataError, match="sequence 1 is empty"):
        task.predict_many(model, [["a"], []])


def test_lstm_learns_parity(tmp_path):
    """Valid strings are of length 7-8; training covers lengths 1-8 (short strings first teach the flip-flop)."""
    seen = set()
    valid = classification_examples("parity", 100, seed=1, min_len=7, max_len=8, exclude=seen)
    train = classification_examples("parity", 300, seed=2, min_len=1, max_len=8, exclude=seen)
    splits = {"train": train, "valid": valid}
    task = ClassificationTask(splits, ClassificationTask.build_vocab(train), batch_size=16)
    torch.manual_seed(0)
    model = SequenceClassifier.build(len(task.vocab), task.num_classes, hidden_size=16, embedding_size=0)
    summary = Trainer(model, task, TrainConfig(epochs=60, lr=1e-2), tmp_path / "run", progress=False,
                      tensorboard=False).fit()
    assert summary["valid"]["accuracy"] >= 0.95, summary
    predictions = task.predict_many(model, [e.tokens for e in valid])
    accuracy = sum(label == e.label for (label, _), e in zip(predictions, valid)) / len(valid)
    assert accuracy == pytest.approx(summary["valid"]["accuracy"])
    assert task.evaluate(model, "valid") == summary["valid"]
