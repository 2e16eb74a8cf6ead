"""`--task reachability` through the command line: train a tiny GGNN, `rnnlab reach` on typed
edges, `rnnlab eval`, and the errors a user can cause."""
import json

from rnnlab.cli.main import main


def test_train_reach_eval(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--task", "reachability", "--train-examples", "40", "--hidden", "6", "--steps", "3",
                 "--epochs", "1", "--no-progress", "--out", str(run)]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["steps"] == 3 and config["data"]["graphs"]["train"] == 40
    capsys.readouterr()
    assert main(["reach", str(run), "--json", "--source", "1", "0>1 1>2 3>2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["source"] == 1 and len(out["probabilities"]) == 4
    assert main(["eval", str(run), "--json"]) == 0
    assert 0 <= json.loads(capsys.readouterr().out)["graph_accuracy"] <= 1
    assert main(["reach", str(run), "0-1"]) == 2
    assert "u>v" in capsys.readouterr().err
    assert main(["reach", str(run), "--source", "7", "0>1"]) == 2
    assert "not a node" in capsys.readouterr().err
