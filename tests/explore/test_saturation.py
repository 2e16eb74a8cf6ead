"""Gate saturation fractions, their plot and their JSON, on gate values with known answers."""
import subprocess
import sys

import numpy as np
import pytest

from rnnlab.errors import DataError
from rnnlab.explore import Recording, gate_saturation, plot_saturation, saturation_json


def _gates():
    """10 steps, 3 units: unit 0 always shut, unit 1 open 7 of 10 steps and shut 1, unit 2 in between."""
    f = np.full((10, 3), 0.5, np.float32)
    f[:, 0] = 0.01
    f[:7, 1], f[7, 1] = 0.99, 0.05
    f[:, 2] = 0.9  # exactly `high` is not above it
    return f


def test_known_fractions_and_non_gates_skipped():
    f = _gates()
    stats = gate_saturation({"rnn.layers.0/f": f, "rnn.layers.0/g": f, "rnn.layers.0/h": f})
    assert list(stats) == ["rnn.layers.0/f"]
    np.testing.assert_allclose(stats["rnn.layers.0/f"]["left"], [1.0, 0.1, 0.0])
    np.testing.assert_allclose(stats["rnn.layers.0/f"]["right"], [0.0, 0.7, 0.0])
    np.testing.assert_allclose(gate_saturation({"l/z": f}, low=0.02, high=0.8)["l/z"]["right"], [0.0, 0.7, 1.0])
    with pytest.raises(DataError, match="no gate values"):
        gate_saturation({"l/h": f})
    with pytest.raises(DataError, match="low < high"):
        gate_saturation({"l/f": f}, low=0.9, high=0.1)


def test_recordings_are_pooled_over_their_steps():
    f = _gates()
    recs = [Recording(list("a" * 10), {"l/i": f}), Recording(list("ab"), {"l/i": np.full((2, 3), 0.99, np.float32)})]
    stats = gate_saturation(recs)
    np.testing.assert_allclose(stats["l/i"]["right"], [2 / 12, 9 / 12, 2 / 12])


def test_plot_is_a_png_and_json_is_plain(tmp_path):
    f = _gates()
    stats = gate_saturation({"a/f": f, "a/i": f, "b/f": f[:, :2], "b/r": f})
    path = plot_saturation(stats, tmp_path / "sat.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    js = saturation_json(stats)
    assert list(js["kinds"]) == ["i", "f", "r"]
    assert [g["key"] for g in js["kinds"]["f"]] == ["a/f", "b/f"] and js["kinds"]["f"][1]["layer"] == "b"
    assert js["kinds"]["f"][0]["right"] == [0.0, 0.7, 0.0] and type(js["kinds"]["f"][0]["left"][0]) is float


def test_importing_the_explorer_does_not_import_matplotlib():
    code = "import sys, rnnlab, rnnlab.explore, rnnlab.datasets.synthetic; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
