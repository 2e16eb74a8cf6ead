"""bench/rnn_speed.py runs end to end on a tiny shape and writes rows with ratios."""
import json
from pathlib import Path

import pytest

from tests.helpers import load_script

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "rnn_speed.py"


@pytest.fixture(scope="module")
def rnn_speed():
    return load_script(SCRIPT)


def test_help(rnn_speed):
    with pytest.raises(SystemExit) as exit_:
        rnn_speed.main(["--help"])
    assert exit_.value.code == 0


def test_tiny_run_writes_rows_and_ratios(rnn_speed, tmp_path, capsys):
    out = tmp_path / "results" / "speed.json"
    result = rnn_speed.main(["--shapes", "4,2,3,5", "--repeats", "1", "--warmup", "0", "--out", str(out)])

    saved = json.loads(out.read_text())
    assert saved["rows"] == json.loads(json.dumps(result["rows"]))
    assert {"torch", "threads", "cpu", "date"} <= saved["machine"].keys()
    assert [r["config"] for r in saved["rows"]] == list(rnn_speed.CONFIGS)
    for row in saved["rows"]:
        assert (row["T"], row["B"], row["D"], row["H"]) == (4, 2, 3, 5)
        assert isinstance(row["fused"], bool)
        assert row["vs_loop"] > 0 and row["ms"]["rnnlab"] > 0
        has_torch = rnn_speed.CONFIGS[row["config"]].torch_twin is not None
        assert (row["vs_torch"] is not None) == has_torch
        assert row["met"] in (True, False)
        assert row["max_abs_diff"] <= rnn_speed.SAME_FUNCTION_ATOL
        assert row["gflops"]["rnnlab"] > 0 and row["sgemm_fraction"]["rnnlab"] > 0  # achieved rate, same-run sgemm
    assert saved["sgemm_gflops"] > 0
    assert [g["config"] for g in saved["generation"]] == list(rnn_speed.GENERATION_CELLS)
    assert all(g["chars_per_s"]["rnnlab"] > 0 and g["vs_torch"] > 0 for g in saved["generation"])
    table = capsys.readouterr().out
    assert "vs torch" in table and "lstm-layernorm" in table


def test_only_generation_runs_just_the_generation_rows(rnn_speed, tmp_path):
    result = rnn_speed.main(["--only-generation", "--repeats", "2", "--warmup", "0", "--out", str(tmp_path / "g.json")])
    assert result["rows"] == []
    assert [r["config"] for r in result["generation"]] == list(rnn_speed.GENERATION_CELLS)
    assert all(r["chars_per_s"]["rnnlab"] > 0 and r["vs_torch"] > 0 for r in result["generation"])


def test_generation_in_fresh_processes(tmp_path, capsys):
    fresh = load_script(SCRIPT.parent / "generation_fresh.py")
    out = tmp_path / "fresh.json"
    rows = fresh.main(["--cells", "elman", "--chars", "5", "--repeats", "1", "--out", str(out)])
    assert [r["config"] for r in rows] == ["elman"] and rows[0]["rnnlab"] > 0 and rows[0]["torch"] > 0
    assert 0 <= rows[0]["same_chars"] <= 1
    assert json.loads(out.read_text())["rows"][0]["config"] == "elman"
