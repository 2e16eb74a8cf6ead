"""bench/gemm_backends.py times both libraries on a tiny sweep and judges the kernels' rule."""
import json
from pathlib import Path

import pytest

import rnnlab.cells._compiled as compiled
from tests.helpers import load_script

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "gemm_backends.py"


@pytest.fixture(scope="module")
def gemm_backends():
    return load_script(SCRIPT)


def test_help(gemm_backends):
    with pytest.raises(SystemExit) as exit_:
        gemm_backends.main(["--help"])
    assert exit_.value.code == 0


def test_rejects_nonpositive_sizes(gemm_backends, capsys):
    with pytest.raises(SystemExit):
        gemm_backends.main(["--hidden", "0"])
    assert "--hidden must be positive" in capsys.readouterr().err


@pytest.mark.skipif(not compiled.available(), reason="compiled kernels not built")
def test_tiny_sweep_writes_rows(gemm_backends, tmp_path, capsys):
    ops = compiled.load()
    if not ops.onednn_usable():
        pytest.skip("the kernels cannot call oneDNN here")
    out = tmp_path / "gemm.json"
    result = gemm_backends.main(["--batches", "1", "16", "--hidden", "64", "--gates", "3", "--steps", "20",
                                 "--repeats", "1", "--batch-ms", "2", "--out", str(out)])
    saved = json.loads(out.read_text())
    assert saved["rows"] == json.loads(json.dumps(result["rows"]))
    assert {"cpu", "torch", "date"} <= saved["machine"].keys()
    assert [(r["kind"], r["B"]) for r in saved["rows"]] == [("forward", 1), ("backward", 1), ("forward", 16), ("backward", 16)]
    backends = {"blas", "onednn"} | ({"packed"} if ops.packed_usable() else set())
    for r in saved["rows"]:
        assert (r["K"], r["N"], r["steps"]) == ((64, 192, 20) if r["kind"] == "forward" else (192, 64, 20))
        assert set(r["us"]) == backends and all(v > 0 for v in r["us"].values()) and r["speed_vs_blas"]["blas"] == 1
        assert r["fastest"] == min(r["us"], key=r["us"].get)
        # the rule's pick is the kernels' own answer for a sequence of these products
        tw = r["kind"] == "forward"
        if ops.step_packed(tw, r["B"], r["N"], r["K"], 20):
            assert r["rule"] == "packed"
        else:
            assert r["rule"] == ("onednn" if ops.gemm_backend(False, tw, r["B"], r["N"], r["K"]) else "blas") == "blas"
        assert r["rule_ok"] == (r["us"][r["rule"]] <= r["us"][r["fastest"]] * 1.03)
    assert "the rule picks the fastest backend" in capsys.readouterr().out
