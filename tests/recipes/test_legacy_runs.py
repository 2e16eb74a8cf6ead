"""Run directories written before the architecture rework (tests/fixtures/runs_v0_1) still load,
predict, evaluate and resume, and give exactly what the old code printed for them."""
import json
import shutil
from pathlib import Path

import pytest

from rnnlab.cli.main import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "runs_v0_1"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())


def _same(out: str, expected: str) -> None:
    """Equal text; JSON lines compare numbers to 1e-6, nested ones too (evaluation sums floats in
    another order, and the compiled kernels round differently from torch's in the last bits)."""
    lines, want = out.splitlines(), expected.splitlines()
    assert len(lines) == len(want), (out, expected)
    for line, ref in zip(lines, want):
        try:
            a, b = json.loads(line), json.loads(ref)
        except ValueError:
            assert line == ref
            continue
        _close(a, b, "")


def _close(a, b, where: str) -> None:
    if isinstance(b, dict):
        assert isinstance(a, dict) and a.keys() == b.keys(), (where, a, b)
        for k in b:
            _close(a[k], b[k], f"{where}.{k}")
    elif isinstance(b, list):
        assert isinstance(a, list) and len(a) == len(b), (where, a, b)
        for k, (x, y) in enumerate(zip(a, b)):
            _close(x, y, f"{where}[{k}]")
    elif isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-6, abs=1e-9), where
    else:
        assert a == b, where


@pytest.fixture
def runs(tmp_path):
    shutil.copytree(FIXTURES, tmp_path / "runs")
    return tmp_path / "runs"


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_old_run_gives_the_same_output(kind, runs, capsys):
    for call in EXPECTED[kind]:
        args = [a.format(run=runs / kind) for a in call["args"]]
        capsys.readouterr()
        assert main(args) == 0, args
        _same(capsys.readouterr().out, call["stdout"])


@pytest.mark.parametrize("kind", ["lm", "seq2seq"])
def test_old_run_resumes(kind, runs, capsys):
    assert main(["resume", str(runs / kind), "--max-steps", "5", "--no-progress"]) == 0
    trainer = json.loads((runs / kind / "checkpoint" / "trainer.json").read_text())
    assert trainer["state"]["step"] == 5  # the fixtures stopped after 3 updates
