"""Question answering through the CLI: train a memory network on generated stories, eval (per-task
accuracy), predict with the attention per hop, and the user's errors."""
from __future__ import annotations

import json

from rnnlab.cli.main import main
from tests.recipes.test_custom_recipe import cli

TINY = ["--train-examples", "40", "--epochs", "2", "--linear-epochs", "1", "--hops", "2", "--dim", "8",
        "--no-progress"]


def test_train_eval_predict(tmp_path, capsys):
    run = tmp_path / "qa"
    code, _, err = cli(capsys, "train", "--task", "qa-all", *TINY, "--out", run)
    assert code == 0 and "2 hops" in err and "linear start 1 epochs" in err
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["hops"] == 2 and (run / "vocab-words.json").exists()
    code, out, _ = cli(capsys, "eval", run, "--json")
    metrics = json.loads(out)
    assert code == 0 and {f"accuracy/{t}" for t in ("single-fact", "two-facts", "yes-no", "counting", "lists")} <= set(metrics)
    code, out, _ = cli(capsys, "predict", run, "--attention", "mary went to the kitchen. john got the apple. where is mary?")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3 and lines[1].split()[-1] == "." and len(lines[1].split()) == 2 + 6
    code, _, err = cli(capsys, "predict", run, "where is mary")
    assert code == 2 and "ends with its question" in err


def test_single_task_and_bad_options(tmp_path, capsys):
    run = tmp_path / "yn"
    assert cli(capsys, "train", "--task", "qa-yes-no", *TINY, "--position", "false", "--out", run)[0] == 0
    assert "yes-no" in cli(capsys, "eval", run)[1]
    code, _, err = cli(capsys, "train", "--task", "qa-yes-no", "--hops", "0", "--out", tmp_path / "x")
    assert code == 2 and "hops must be >= 1" in err
    code, _, err = cli(capsys, "eval", run, "--data", tmp_path)
    assert code == 2 and "--data does not apply" in err
