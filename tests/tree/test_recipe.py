"""`--task sentiment` through the command line on tiny data: train on the built-in treebank,
classify bracketed trees and plain text (`rnnlab sentiment`, `rnnlab predict`), `rnnlab eval`,
exact resume; a tiny SST-layout directory with fine and binary labels; and the errors a user
can cause."""
from __future__ import annotations

import json

import pytest

from rnnlab.cli.main import main

TINY = ["train", "--task", "sentiment", "--train-examples", "60", "--hidden", "8", "--embedding", "8", "--epochs", "1",
        "--batch-size", "10", "--eval-batch-size", "64", "--no-progress", "--max-len", "5"]


def cli(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run = tmp_path_factory.mktemp("sentiment") / "run"
    assert main([*TINY, "--out", str(run)]) == 0
    return run


def test_train_writes_a_run(trained):
    config = json.loads((trained / "config.json").read_text())
    assert config["model"]["cell"] == "tree-lstm" and config["model"]["num_classes"] == 5
    assert config["data"]["trees"]["train"] == 60


def test_classify_text_and_trees(trained, capsys):
    code, out, err = cli(capsys, "sentiment", trained, "not good film", "(0 (2 very) (1 bad))")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2 and lines[0].endswith("\tnot good film") and lines[0].split("\t")[0] in "01234"
    # `rnnlab classify RUN` (the sequence classifier's command) is served by a tree run's own recipe
    code, shared, _ = cli(capsys, "classify", trained, "not good film", "(0 (2 very) (1 bad))")
    assert code == 0 and shared == out
    code, out, _ = cli(capsys, "sentiment", trained, "--nodes", "--shape", "right", "very good film")
    assert code == 0 and out.split("\t")[2].count("(") == 5  # 3 leaves + 2 inner nodes, all labelled
    code, out, _ = cli(capsys, "predict", trained, "--json", "(0 (2 very) (1 bad))")
    record = json.loads(out)
    assert record["gold"] == "0" and record["shape"] == "given" and abs(sum(record["probabilities"].values()) - 1) < 1e-6


def test_unseen_words_are_noted(trained, capsys):
    code, out, err = cli(capsys, "sentiment", trained, "zebra good")
    assert code == 0 and "zebra" in err


def test_bad_tree_is_one_line_error(trained, capsys):
    code, out, err = cli(capsys, "sentiment", trained, "(3 (2 good)")
    assert code == 2 and "expected ')'" in err


def test_eval(trained, capsys):
    code, out, _ = cli(capsys, "eval", trained, "--split", "valid", "--json")
    metrics = json.loads(out)
    assert code == 0 and 0 <= metrics["accuracy"] <= 1 and "phrase_accuracy" in metrics


def test_resume_is_exact(tmp_path, capsys):
    ref, cut = tmp_path / "ref", tmp_path / "cut"
    assert main([*TINY, "--epochs", "2", "--out", str(ref), "--seed", "3"]) == 0
    assert main([*TINY, "--epochs", "2", "--out", str(cut), "--seed", "3", "--max-steps", "7"]) == 0
    assert main(["resume", str(cut), "--no-progress"]) == 0

    def losses(run):
        return [json.loads(l)["loss"] for l in (run / "metrics.jsonl").read_text().splitlines()
                if json.loads(l)["kind"] == "valid"]
    assert losses(ref) == pytest.approx(losses(cut), rel=1e-6)


def _write_sst(root):
    root.mkdir()
    train = ["(3 (2 (2 a) (3 good)) (2 film))", "(0 (1 (2 a) (0 bad)) (2 film))", "(4 (4 very) (4 good))",
             "(2 (2 a) (2 film))", "(1 (2 -LRB-) (1 bad))"]
    (root / "train.txt").write_text("\n".join(train) + "\n")
    (root / "dev.txt").write_text("(3 (2 a) (3 good))\n(2 (2 the) (2 film))\n(1 bad)\n")
    (root / "test.txt").write_text("(0 (2 a) (0 bad))\n(2 film)\n")
    return root


@pytest.mark.parametrize("labels, classes", [("fine", 5), ("binary", 2)])
def test_tree_directory_fine_and_binary(tmp_path, capsys, labels, classes):
    data = _write_sst(tmp_path / "sst")
    run = tmp_path / "run"
    code, _, err = cli(capsys, "train", "--task", "sentiment", "--data", data, "--labels", labels, "--hidden", "4",
                       "--embedding", "4", "--epochs", "1", "--batch-size", "2", "--no-progress", "--out", run)
    assert code == 0, err
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["num_classes"] == classes
    # binary: neutral sentences dropped from every split (train 5 → 4, dev 3 → 2, test 2 → 1)
    expected = {"fine": {"train": 5, "valid": 3, "test": 2}, "binary": {"train": 4, "valid": 2, "test": 1}}[labels]
    assert config["data"]["trees"] == expected
    code, out, _ = cli(capsys, "sentiment", run, "--json", "( bad")
    assert code == 2


def test_binary_needs_sst_labels(tmp_path, capsys):
    data = _write_sst(tmp_path / "sst")
    (data / "train.txt").write_text("(pos (neg a) (pos b))\n")
    code, _, err = cli(capsys, "train", "--task", "sentiment", "--data", data, "--labels", "binary",
                       "--no-progress", "--out", tmp_path / "run")
    assert code == 2 and "binary labels" in err


def test_bad_options(tmp_path, capsys):
    code, _, err = cli(capsys, "train", "--task", "sentiment", "--cell", "lstm", "--out", tmp_path / "r")
    assert code == 2 and "tree-lstm" in err
    code, _, err = cli(capsys, "train", "--task", "sentiment", "--data", tmp_path / "none", "--out", tmp_path / "r")
    assert code == 2 and "no such data directory" in err


def test_explorer_records_every_node(trained, tmp_path):
    from rnnlab.recipes import ExploreRequest, RunDir, recipe_for
    recipe = recipe_for("sentiment")
    loaded = recipe.load(RunDir(trained))
    text = tmp_path / "trees.txt"
    text.write_text("(3 (2 not) (1 (2 very) (0 bad)))\nvery good film\n")
    ex = recipe.explorer(loaded, ExploreRequest(text=str(text)))
    assert {"tree/h", "tree/c", "tree/i", "tree/f0", "tree/f1", "tree/o"} <= set(ex.info()["keys"])
    first = ex.example(ex.examples()[0].id, keys=["tree/h"])
    assert first["tokens"] == ["not", "very", "bad", "·", "·"] and first["targets"] == ["2", "2", "0", "1", "3"]
    assert first["tree"] == {"children": [[], [], [], [1, 2], [0, 3]], "root": 4}
    assert len(first["values"]["tree/h"]) == 5
    # the labels are the predictor's
    assert first["labels"] == loaded.predictor.predict_many(["(3 (2 not) (1 (2 very) (0 bad)))"])[0].node_labels
    assert ex.example(ex.examples()[1].id, keys=[])["targets"] is None  # plain text has no gold labels
