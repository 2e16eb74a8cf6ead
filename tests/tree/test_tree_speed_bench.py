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
