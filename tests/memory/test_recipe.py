"""The bit-sequence tasks through the CLI: train (NTM and the LSTM baseline), resume, eval with
--length / --repeats (the generalisation test), predict, and the errors a user can cause."""
from __future__ import annotations

import json

import pytest

from rnnlab.cli.main import main
from tests.recipes.test_custom_recipe import cli

TINY = ["--bits", "3", "--max-length", "3", "--hidden", "6", "--memory-slots", "6", "--memory-width", "3",
        "--updates-per-epoch", "3", "--epochs", "1", "--eval-sequences", "4", "--batch-size", "4", "--no-progress"]


@pytest.fixture(scope="module")
def copy_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("ntm") / "copy"
    assert main(["train", "--task", "ntm-copy", *TINY, "--out", str(run)]) == 0
    return run


def test_train_writes_a_run_and_eval_scores_it(copy_run, capsys):
    config = json.loads((copy_run / "config.json").read_text())
    assert config["model"]["kind"] == "ntm" and config["options"]["task"] == "ntm-copy"
    code, out, _ = cli(capsys, "eval", copy_run, "--json")
    metrics = json.loads(out)
    assert code == 0 and set(metrics) >= {"bit_errors", "exact", "loss"}
    assert 0 <= metrics["bit_errors"] <= 3 * 3  # at most every bit of a 3-vector output


def test_eval_length_tests_generalisation(copy_run, capsys):
    code, out, _ = cli(capsys, "eval", copy_run, "--length", "12", "--sequences", "5", "--json")
    metrics = json.loads(out)
    assert code == 0 and metrics["length"] == 12
    assert 0 <= metrics["bit_errors"] <= 12 * 3
    code, out, _ = cli(capsys, "eval", copy_run, "--length", "12", "--sequences", "5")
    assert out.startswith("length 12: ") and "bits wrong per sequence" in out
    # the flags come from the run's recipe: a --split before RUN_DIR does not hide it
    assert cli(capsys, "eval", "--split", "valid", copy_run, "--length", "4")[0] == 0


def test_eval_errors_are_one_line(copy_run, capsys):
    code, _, err = cli(capsys, "eval", copy_run, "--repeats", "3")
    assert code == 2 and "--repeats applies to ntm-repeat-copy runs" in err
    code, _, err = cli(capsys, "eval", copy_run, "--length", "0")
    assert code == 2 and "length must be >= 1" in err


def test_predict_copies_bit_vectors(copy_run, capsys):
    code, out, _ = cli(capsys, "predict", copy_run, "010 111 001")
    assert code == 0 and len(out.split()) == 3 and all(len(w) == 3 and set(w) <= {"0", "1"} for w in out.split())
    code, _, err = cli(capsys, "predict", copy_run, "0102")
    assert code == 2 and "not a vector of 3 bits" in err


def test_resume_continues(copy_run, tmp_path, capsys):
    run = tmp_path / "r"
    assert main(["train", "--task", "ntm-copy", *TINY, "--max-steps", "2", "--out", str(run)]) == 0
    assert cli(capsys, "resume", run, "--no-progress")[0] == 0
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert max(steps) == 3


@pytest.mark.parametrize("task,extra", [("ntm-repeat-copy", ["--max-repeats", "2"]),
                                        ("ntm-recall", ["--min-length", "2", "--item-length", "1"])])
def test_other_tasks_train_and_generalise(task, extra, tmp_path, capsys):
    run = tmp_path / task
    assert main(["train", "--task", task, *TINY, *extra, "--out", str(run)]) == 0
    flag = ["--repeats", "4"] if task == "ntm-repeat-copy" else ["--length", "5"]
    code, out, _ = cli(capsys, "eval", run, *flag, "--sequences", "3", "--json")
    assert code == 0 and json.loads(out)["bit_errors"] >= 0


def test_lstm_baseline_and_feedforward_controller(tmp_path, capsys):
    for model in (["--model", "lstm", "--layers", "2"], ["--controller", "feedforward", "--memory-init", "learned"]):
        run = tmp_path / model[1]
        assert main(["train", "--task", "ntm-copy", *TINY, *model, "--out", str(run)]) == 0
        assert cli(capsys, "eval", run, "--length", "5", "--sequences", "3")[0] == 0


def test_bad_options_are_refused_before_training(tmp_path, capsys):
    code, _, err = cli(capsys, "train", "--task", "ntm-copy", "--min-length", "5", "--max-length", "3",
                       "--out", tmp_path / "x")
    assert code == 2 and "min_length 5 > max_length 3" in err
    code, _, err = cli(capsys, "train", "--task", "ntm-copy", "--layers", "2", "--out", tmp_path / "y")
    assert code == 2 and "one controller layer" in err
    code, _, err = cli(capsys, "train", "--task", "ntm-recall", "--min-length", "1", "--out", tmp_path / "z")
    assert code == 2 and "must be >= 2" in err
    assert not (tmp_path / "x").exists()
