"""Distributed training with 2 gloo processes on this machine, started by torchrun (--standalone:
a rendezvous on a free port, so test runs side by side do not collide).

- 2 processes × batch B train exactly as 1 process × batch 2B (float64, no dropout): a language
  model (contiguous stream shards, truncated BPTT with k2 > k1) and a tagger (sentences of
  different lengths, a short last batch split unevenly, tag and intent losses);
- a 2-process run stopped and resumed equals the uninterrupted one;
- `rnnlab train --nproc 2` writes one run directory whose config states the global batch, which
  `rnnlab eval` reads in one process, and which `rnnlab resume` refuses to continue on 1 process;
- when a process dies, the other exits with a clear message and the last checkpoint is intact.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rnnlab.cli.main import main
from rnnlab.train.checkpoint import read_checkpoint, read_json, read_tensors
from tests.train import ddp_worker

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(ddp_worker.__file__)
pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch without torch.distributed")


def env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


def torchrun(*args: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", *args]


@pytest.fixture(scope="module")
def equivalence(tmp_path_factory):
    """The 2-process runs of ddp_worker (started first: the 1-process references run meanwhile)."""
    out = tmp_path_factory.mktemp("ddp")
    proc = subprocess.Popen(torchrun(str(WORKER), "equivalence", str(out)), env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    yield proc, out
    proc.kill()


def finished(equivalence) -> Path:
    proc, out = equivalence
    log, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, log[-3000:]
    return out


@pytest.mark.parametrize("name", ["lm", "tagging"])
def test_two_processes_equal_one_with_twice_the_batch(equivalence, name):
    torch.set_default_dtype(torch.float64)
    try:
        setup, batch, steps = {"lm": (ddp_worker.lm_setup, 2, ddp_worker.LM_STEPS),
                               "tagging": (ddp_worker.tagging_setup, 6, ddp_worker.TAGGING_STEPS)}[name]
        reference = ddp_worker.train(setup, 2 * batch, steps)
    finally:
        torch.set_default_dtype(torch.float32)
    got = read_tensors(finished(equivalence) / f"{name}.safetensors")
    assert set(got) == set(reference)
    initial = setup(batch)[0].state_dict()
    assert any(not torch.equal(initial[k].to(got[k].dtype), got[k]) for k in got)  # it trained
    for key, value in reference.items():
        assert got[key].dtype == torch.float64
        assert torch.allclose(got[key], value, rtol=0, atol=1e-12), (key, (got[key] - value).abs().max())


def test_two_process_resume_is_exact(equivalence):
    out = finished(equivalence)
    a, b = read_tensors(out / "uninterrupted.safetensors"), read_tensors(out / "resumed.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    state = read_checkpoint(out / "b" / "checkpoint")
    assert state["world_size"] == 2 and len(state["ranks"]) == 2 and state["step"] == ddp_worker.LM_STEPS
    carries = [first_tensor(r["carry"]) for r in state["ranks"]]  # each process carries its own streams' state
    assert carries[0].shape == carries[1].shape and not torch.equal(carries[0], carries[1])


def first_tensor(value):
    return value if isinstance(value, torch.Tensor) else next(
        t for t in map(first_tensor, value) if t is not None) if isinstance(value, (tuple, list)) else None


TRAIN = ["--task", "lm-char", "--max-chars", "3000", "--hidden", "8", "--embedding", "8", "--layers", "1",
         "--bptt", "10", "--batch-size", "4", "--device", "cpu", "--no-progress", "--seed", "1"]


@pytest.fixture(scope="module")
def run2(tmp_path_factory):
    """`rnnlab train --nproc 2` for 4 updates."""
    run = tmp_path_factory.mktemp("cli") / "RUN"
    done = subprocess.run([sys.executable, "-m", "rnnlab", "train", "--nproc", "2", *TRAIN, "--max-steps", "4",
                           "--out", str(run)], env=env(), capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "global batch 8 = 2 x 4 per process" in done.stderr
    assert done.stderr.count("rnnlab: run directory") == 1  # process 0 alone speaks
    return run


def test_nproc_run_states_its_global_batch_and_evaluates_in_one_process(run2, capsys):
    config = read_json(run2 / "config.json", "config")
    assert config["distributed"] == {"world_size": 2, "backend": "gloo", "device": "cpu",
                                     "batch_size_per_process": 4, "global_batch_size": 8}
    state = read_checkpoint(run2 / "checkpoint")
    assert state["step"] == 4 and state["world_size"] == 2
    capsys.readouterr()
    assert main(["eval", str(run2), "--weights", "last", "--device", "cpu"]) == 0
    assert "test: loss" in capsys.readouterr().out


def test_resume_on_another_number_of_processes_is_refused(run2, capsys):
    assert main(["resume", str(run2), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "cannot resume" in err and "on 1 process: it was trained on 2 processes" in err
    assert "--nproc 2" in err
    assert read_checkpoint(run2 / "checkpoint")["step"] == 4  # untouched


def test_dead_process_stops_the_other_with_the_checkpoint_intact(run2, tmp_path):
    run = tmp_path / "RUN"
    shutil.copytree(run2, run)
    # resumed at update 4: checkpoints at 6; process 1 is killed on its 4th update (update 8)
    done = subprocess.run(torchrun(str(WORKER), "die", "resume", str(run), "--max-steps", "12",
                                   "--checkpoint-every", "2", "--no-progress"),
                          env={**env(), "DIE_AT": "4"}, capture_output=True, text=True, timeout=180)
    assert done.returncode != 0
    assert "rnnlab resume: error: process 0 of 2 stopped at update 8: another process of the run failed" \
        in done.stderr, done.stderr[-3000:]
    assert f"the last checkpoint, {run / 'checkpoint'} at update 6, is intact" in done.stderr
    state = read_checkpoint(run / "checkpoint")  # readable: digests checked
    assert state["step"] == 6 and len(state["ranks"]) == 2
    assert not (run / "checkpoint.tmp").exists() or read_checkpoint(run / "checkpoint")["step"] == 6
