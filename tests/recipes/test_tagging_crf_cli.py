"""`rnnlab train --task tagging --crf true` through the command line, in process: it trains, tags
the seed's sentence pair right, evaluates as its training run did, and resumes exactly."""
import json

import pytest
import torch

from rnnlab.cli.main import main
from rnnlab.recipes.registry import recipe_for
from rnnlab.recipes.run_dir import RunDir

SMALL = ["--task", "tagging", "--crf", "true", "--train-examples", "600", "--hidden", "32", "--embedding", "16",
         "--projection", "16", "--batch-size", "8", "--lr", "0.01", "--epochs", "3", "--no-progress"]


def test_crf_run_trains_tags_evaluates_and_resumes(tmp_path, capsys):
    torch.set_num_threads(1)
    run = tmp_path / "crf"
    assert main(["train", *SMALL, "--out", str(run)]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["options"]["crf"] is True and config["model"]["crf"] is True
    trained = recipe_for("tagging").load(RunDir(run))
    assert trained.model.crf is not None and not bool(trained.model.crf.follows.all())  # BIO rules kept
    capsys.readouterr()
    assert main(["tag", str(run), "--format", "pairs", "i would like to arrive taipei on november 2nd",
                 "i would like to leave taipei on november 2nd"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "taipei/B-toloc.city_name" in lines[0] and "taipei/B-fromloc.city_name" in lines[2], lines
    assert main(["eval", str(run), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    test_row = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()][-1]
    assert test_row["kind"] == "test" and metrics["slot_f1"] == pytest.approx(test_row["slot_f1"])
    assert metrics["slot_f1"] > 0.9



def test_crf_with_jordan_feedback_is_refused(tmp_path, capsys):
    code = main(["train", "--task", "tagging", "--crf", "true", "--jordan-feedback", "onehot", "--bidirectional", "false",
                 "--no-progress",
                 "--out", str(tmp_path / "x")])
    assert code != 0 and "cannot be combined with jordan_feedback" in capsys.readouterr().err
