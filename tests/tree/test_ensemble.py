"""Ensembles of tree classifiers: every node's posterior is the mean of the members', a one-member
ensemble is the model itself, an ensemble is scored and used (TreeTask, TreePredictor,
`load_ensemble` on run directories) exactly like one model, and members that disagree on
vocabulary, labels or data are refused. Built-in generated treebank, tiny models."""
import pytest
import torch

from rnnlab.cli.main import main
from rnnlab.datasets.trees import tree_data
from rnnlab.errors import ConfigError
from rnnlab.recipes.run_dir import RunDir
from rnnlab.recipes.sentiment import RECIPE, load_ensemble
from rnnlab.tree.ensemble import TreeEnsemble
from rnnlab.tree.model import TreeClassifier
from rnnlab.tree.predict import TreePredictor
from rnnlab.tree.task import TreeTask

SPLITS = tree_data("polarity", 30, 12, 12, seed=0, max_len=6)


def task() -> TreeTask:
    return TreeTask(SPLITS, TreeTask.build_vocab(SPLITS["train"]), eval_batch_size=5)


def members(t: TreeTask, n: int, cells=("tree-lstm", "tree-gru", "rnn")) -> list[TreeClassifier]:
    out = []
    for seed in range(n):
        torch.manual_seed(seed)
        out.append(TreeClassifier.build(len(t.vocab), t.num_classes, cell=cells[seed % len(cells)], hidden_size=5,
                                        embedding_size=4).double().eval())
    return out


def test_posteriors_are_the_members_mean():
    t = task()
    models = members(t, 3)
    batch = t.make_batch(SPLITS["valid"])
    out = TreeEnsemble(models)(batch)
    mean = torch.stack([m(batch).softmax(-1) for m in models]).mean(0)
    torch.testing.assert_close(out.exp(), mean)
    torch.testing.assert_close(out.softmax(-1), mean)  # what the predictor reads: the averaged posterior again
    one = TreeEnsemble(models[:1])(batch)  # one member: its own posteriors, its own predictions
    torch.testing.assert_close(one, models[0](batch).log_softmax(-1))


def test_scored_and_used_like_one_model():
    t = task()
    models = [m.float() for m in members(t, 2)]
    for split in ("valid", "test"):  # one member: the same metrics as the model alone
        alone, ensembled = t.evaluate(models[0], split), t.evaluate(TreeEnsemble(models[:1]), split)
        assert ensembled == pytest.approx(alone, rel=1e-5, abs=1e-6)
    metrics = t.evaluate(TreeEnsemble(models), "valid")
    assert 0 <= metrics["accuracy"] <= 1 and metrics["loss"] > 0
    trees = SPLITS["test"][:4]
    ensemble = TreeEnsemble(models)
    got = TreePredictor(ensemble, t.vocab, t.label_vocab).predict_trees(trees)
    batch = t.make_batch(trees)
    mean = torch.stack([m(batch).softmax(-1) for m in models]).mean(0)[batch.roots]
    for p, row in zip(got, mean):
        assert p.label == t.label_vocab.tokens[int(row.argmax())]
        assert list(p.probabilities.values()) == pytest.approx(row.tolist(), abs=1e-6)


def test_members_must_agree():
    t = task()
    a = members(t, 1)[0]
    with pytest.raises(ConfigError, match="classes"):
        TreeEnsemble([a, TreeClassifier.build(len(t.vocab), t.num_classes + 1, hidden_size=5, embedding_size=4)])
    with pytest.raises(ConfigError, match="vocabulary"):
        TreeEnsemble([a, TreeClassifier.build(len(t.vocab) + 3, t.num_classes, hidden_size=5, embedding_size=4)])
    with pytest.raises(ConfigError, match="at least one"):
        TreeEnsemble([])


TINY = ["train", "--task", "sentiment", "--train-examples", "40", "--hidden", "6", "--embedding", "6", "--epochs", "1",
        "--batch-size", "10", "--eval-batch-size", "64", "--no-progress", "--max-len", "5"]


def test_load_ensemble_of_runs(tmp_path):
    runs = [tmp_path / f"s{seed}" for seed in (0, 1)]
    for seed, run in enumerate(runs):
        assert main([*TINY, "--seed", str(seed), "--out", str(run)]) == 0
    single = RECIPE.load(RunDir(runs[0]))
    one = load_ensemble(runs[:1])
    assert RECIPE.evaluate(one, "test") == pytest.approx(RECIPE.evaluate(single, "test"), rel=1e-5, abs=1e-6)
    both = load_ensemble(runs)
    assert isinstance(both.model, TreeEnsemble) and len(both.model.members) == 2
    metrics = RECIPE.evaluate(both, "test")
    assert 0 <= metrics["accuracy"] <= 1
    [p] = both.predictor.predict_many(["not good film"])
    assert abs(sum(p.probabilities.values()) - 1) < 1e-6
    # another label scheme (binary: other labels, neutral sentences dropped) is refused, naming run and reason
    other = tmp_path / "other"
    assert main([*TINY, "--labels", "binary", "--out", str(other)]) == 0
    with pytest.raises(ConfigError, match=r"other was not trained on the same data.*labels"):
        load_ensemble([runs[0], other])
    with pytest.raises(ConfigError, match="at least one"):
        load_ensemble([])
