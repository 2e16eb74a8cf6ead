"""bench/tree_speed.py runs end to end on tiny trees: the three implementations agree and every
row has a positive speed."""
import json
from pathlib import Path

from tests.helpers import load_script

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "tree_speed.py"


def test_quick_run(tmp_path):
    out = tmp_path / "speed.json"
    result = load_script(SCRIPT).main(["--quick", "--cells", "tree-lstm", "rntn", "--out", str(out)])
    saved = json.loads(out.read_text())
    assert [r["cell"] for r in saved["rows"]] == ["tree-lstm", "rntn"] == [r["cell"] for r in result["rows"]]
    for row in saved["rows"]:
        assert row["max_abs_diff"] < 1e-5
        assert min(row["trees_per_s"].values()) > 0
        assert row["levels"] < row["nodes"]  # level-wise makes fewer calls than node by node


def test_time_cap_still_times_one_full_pass(tmp_path):
    """--max-seconds 0: every implementation is timed exactly once (never zero times), the rest skipped."""
    tiny = ["--batch", "3", "--hidden", "6", "--repeats", "3"]
    result = load_script(SCRIPT).main([*tiny, "--cells", "rntn", "--max-seconds", "0",
                                       "--out", str(tmp_path / "speed.json")])
    [row] = result["rows"]
    assert row["passes"] == {"levelwise": 1, "node_by_node": 1, "recursive": 1}
    assert row["max_abs_diff"] < 1e-5 and min(row["trees_per_s"].values()) > 0
    result = load_script(SCRIPT).main([*tiny, "--cells", "rnn", "--out", str(tmp_path / "s.json")])
    assert result["rows"][0]["passes"] == {"levelwise": 3, "node_by_node": 3, "recursive": 3}
