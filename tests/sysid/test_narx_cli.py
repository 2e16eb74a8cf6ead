"""The latching and narx-plant tasks end to end through the CLI (tiny budgets): train, eval,
predict, and the checks on their options."""
import json

import pytest

from tests.cli.test_cli_tasks import run_cli as cli


def test_narx_plant_series_parallel_then_eval_and_predict(tmp_path, capsys):
    run = tmp_path / "plant"
    code, _, err = cli(capsys, "train", "--task", "narx-plant", "--signal-steps", "400", "--epochs", "3",
                       "--lr", "0.01", "--out", run, "--no-progress")
    assert code == 0, err
    assert "RMSE one-step" in err and "series-parallel" in err
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    valid = [r["rmse_free"] for r in rows if r["kind"] == "valid"]
    assert valid[-1] < valid[0] or min(valid) < 1.0
    code, out, _ = cli(capsys, "eval", run, "--json")
    test = json.loads(out)
    assert test["rmse_one"] == pytest.approx([r for r in rows if r["kind"] == "test"][-1]["rmse_one"])
    code, out, _ = cli(capsys, "predict", run, "0.5 -1 0.3 1")
    assert code == 0 and len(out.split()) == 4


def test_latching_elman_and_narx_train_and_predict(tmp_path, capsys):
    for cell in ("elman", "narx"):
        code, _, err = cli(capsys, "train", "--task", "latching", "--cell", cell, "--length", "3", "--epochs", "2",
                           "--examples", "64", "--out", tmp_path / cell, "--no-progress")
        assert code == 0, err
    code, out, _ = cli(capsys, "predict", tmp_path / "narx", "1 1 -1 0.1 0 0")
    label, prob = out.split()
    assert label in ("0", "1") and 0.5 <= float(prob) <= 1


def test_options_are_checked(tmp_path, capsys):
    code, _, err = cli(capsys, "train", "--task", "latching", "--prefix", "2", "--out", tmp_path / "x")
    assert code == 2 and "--prefix must be odd" in err
    code, _, err = cli(capsys, "train", "--task", "narx-plant", "--output-delays", "0", "--out", tmp_path / "x")
    assert code == 2 and "output-delays" in err
    code, _, err = cli(capsys, "predict", tmp_path / "missing", "1 2")
    assert code == 2
