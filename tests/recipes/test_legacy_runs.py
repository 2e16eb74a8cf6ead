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
    """Equal text; JSON lines compare numbers to 1e-6 (evaluation sums floats in another order)."""
    lines, want = out.splitlines(), expected.splitlines()
    assert len(lines) == len(want), (out, expected)
    for line, ref in zip(lines, want):
        try:
            a, b = json.loads(line), json.loads(ref)
        except ValueError:
            assert line == ref
            continue
        if isinstance(b, dict):
            assert a.keys() == b.keys(), (a, b)
            for k in b:
                assert a[k] == (pytest.approx(b[k], rel=1e-6) if isinstance(b[k], float) else b[k]), k
        else:
            assert a == b


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
