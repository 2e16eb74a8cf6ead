"""bench/train_speed.py runs end to end on a tiny model, and its float64 check can fail."""
import json
from pathlib import Path

import pytest
import torch

from tests.helpers import load_script

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "train_speed.py"


@pytest.fixture(scope="module")
def train_speed():
    return load_script(SCRIPT)


def test_help(train_speed):
    with pytest.raises(SystemExit) as exit_:
        train_speed.main(["--help"])
    assert exit_.value.code == 0


def test_quick_run_writes_a_checked_row_per_config(train_speed, tmp_path, capsys):
    out = tmp_path / "x.json"
    assert train_speed.main(["--quick", "--out", str(out)]) == 0

    saved = json.loads(out.read_text())
    assert {"torch", "threads", "cpu_count", "date"} <= saved["machine"].keys()
    assert [r["config"] for r in saved["rows"]] == [f"{cell} quick" for cell in train_speed.TWINS]
    layers = train_speed.QUICK_SIZE.layers
    for row in saved["rows"]:
        assert row["refused"] is None
        assert row["tok_s"]["rnnlab"] > 0 and row["tok_s"]["torch"] > 0 and row["ratio"] > 0
        assert len(row["times_ms"]["rnnlab"]) == len(row["times_ms"]["torch"]) == saved["updates"]
        check = row["check"]
        assert check["max_abs_diff"] < 1e-8
        assert check["grads_compared"] == 1 + 4 * layers + 2  # embedding, 4 per layer, decoder
        assert row["float32_first_loss_diff"] < train_speed.FLOAT32_LOSS_ATOL
    table = capsys.readouterr().out
    assert "torch tok/s" in table and "elman quick" in table


def test_check_catches_a_different_model(train_speed):
    torch.manual_seed(0)
    lm = train_speed.LanguageModel.build(20, cell="gru", hidden_size=6, num_layers=2, embedding_size=4)
    twin = train_speed.torch_twin(lm)
    ids = torch.randint(0, 20, (200,))
    assert train_speed.check_same_function(lm, twin, ids)["max_abs_diff"] < 1e-12
    with torch.no_grad():
        twin.rnn.weight_hh_l1[0, 0] += 1e-3  # the second layer's recurrent weights, seen from the second step on
    assert train_speed.check_same_function(lm, twin, ids)["max_abs_diff"] > 1e-6


def test_a_config_failing_the_check_is_refused(train_speed, tmp_path, monkeypatch):
    faithful = train_speed.torch_twin

    def off_by_a_little(lm):
        twin = faithful(lm)
        with torch.no_grad():
            twin.decoder.bias[0] += 1e-3
        return twin

    monkeypatch.setattr(train_speed, "torch_twin", off_by_a_little)
    out = tmp_path / "x.json"
    assert train_speed.main(["--quick", "--cells", "elman", "--out", str(out)]) == 1
    (row,) = json.loads(out.read_text())["rows"]
    assert row["refused"].startswith("float64 check") and row["tok_s"] == {"rnnlab": None, "torch": None}
