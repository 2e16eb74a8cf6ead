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
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from rnnlab.cli.main import main
from rnnlab.errors import ConfigError
from rnnlab.train.checkpoint import read_checkpoint, read_json, read_tensors
from tests.train import ddp_worker

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(ddp_worker.__file__)
pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch without torch.distributed")


def env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


def torchrun(*args: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", *args]


TRAIN = ["--task", "lm-char", "--max-chars", "3000", "--hidden", "8", "--embedding", "8", "--layers", "1",
         "--bptt", "10", "--batch-size", "4", "--device", "cpu", "--no-progress", "--seed", "1"]


@pytest.fixture(scope="module")
def launched(tmp_path_factory):
    """One start of 2 processes (the 1-process references run meanwhile): ddp_worker's equivalence
    runs, then `rnnlab train` whose process 1 is killed (SIGKILL) on its 8th update, after
    checkpoints at updates 2, 4 and 6."""
    out, run = tmp_path_factory.mktemp("ddp"), tmp_path_factory.mktemp("cli") / "RUN"
    proc = subprocess.Popen(torchrun(str(WORKER), "all", str(out), "train", *TRAIN, "--max-steps", "12",
                                     "--checkpoint-every", "2", "--out", str(run)),
                            env={**env(), "DIE_AT": "8"}, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    yield proc, out, run
    proc.kill()


@pytest.fixture(scope="module")
def finished_launch(launched):
    proc, out, run = launched
    log, _ = proc.communicate(timeout=240)
    return proc.returncode, log, out, run


@pytest.fixture(scope="module")
def equivalence(launched):
    return launched


def finished(equivalence) -> Path:
    """The equivalence runs' output directory, once they are done (the launch goes on to the dying run)."""
    proc, out, _ = equivalence
    while proc.poll() is None and not (out / "done").exists():
        time.sleep(0.2)
    assert (out / "done").exists(), proc.communicate()[0][-3000:]
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


@pytest.fixture(scope="module")
def run2(finished_launch):
    """The 2-process run whose process 1 died: its output and run directory."""
    status, log, _, run = finished_launch
    assert status != 0, log[-3000:]
    return log, run


def test_dead_process_stops_the_other_with_the_checkpoint_intact(run2):
    log, run = run2
    assert "rnnlab train: error: process 0 of 2 stopped at update 8: another process of the run failed" in log, \
        log[-3000:]
    assert f"the last checkpoint, {run / 'checkpoint'} at update 6, is intact" in log
    state = read_checkpoint(run / "checkpoint")  # complete: every digest checks
    assert state["step"] == 6 and state["world_size"] == 2 and len(state["ranks"]) == 2


def test_run_states_its_global_batch_and_evaluates_in_one_process(run2, capsys):
    log, run = run2
    assert "global batch 8 = 2 x 4 per process" in log
    assert log.count("rnnlab: run directory") == 1  # process 0 alone speaks
    config = read_json(run / "config.json", "config")
    assert config["distributed"] == {"world_size": 2, "backend": "gloo", "device": "cpu",
                                     "batch_size_per_process": 4, "global_batch_size": 8}
    capsys.readouterr()
    assert main(["eval", str(run), "--weights", "last", "--device", "cpu"]) == 0
    assert "test: loss" in capsys.readouterr().out


def test_resume_on_another_number_of_processes_is_refused(run2, capsys):
    _, run = run2
    assert main(["resume", str(run), "--nproc", "1", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "cannot resume" in err and "on 1 process: it was trained on 2 processes" in err
    assert "--nproc 2" in err
    assert read_checkpoint(run / "checkpoint")["step"] == 6  # untouched


def test_resume_continues_on_as_many_processes(run2, monkeypatch):
    """`rnnlab resume RUN` of a 2-process run starts 2 processes (torchrun) on this machine."""
    started = fake_popen(monkeypatch)
    _, run = run2
    assert main(["resume", str(run), "--max-steps", "8"]) == 3
    assert started == [[sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
                        "-m", "rnnlab", "resume", str(run), "--max-steps", "8"]]


def fake_popen(monkeypatch) -> list:
    """Popen records the commands it is given and says they exited with status 3."""
    started = []

    class Popen:
        def __init__(self, cmd):
            started.append(cmd)

        def wait(self):
            return 3

    monkeypatch.setattr(subprocess, "Popen", Popen)
    for name in ("WORLD_SIZE", "RANK", "TORCHELASTIC_RUN_ID"):
        monkeypatch.delenv(name, raising=False)
    return started


def test_nproc_starts_torchrun_standalone(monkeypatch, tmp_path):
    """`rnnlab train --nproc 2 ...` runs `torchrun --standalone --nproc-per-node=2 -m rnnlab train ...`
    (the rest of the command line unchanged) and returns its status."""
    started = fake_popen(monkeypatch)

    out = str(tmp_path / "R")
    assert main(["train", *TRAIN, "--nproc", "2", "--out", out]) == 3
    assert started == [[sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
                        "-m", "rnnlab", "train", *TRAIN, "--out", out]]
    assert not (tmp_path / "R").exists()
    assert main(["train", *TRAIN, "--nproc", "0", "--out", out]) == 2


def test_nproc_under_torchrun_is_refused(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    assert main(["train", *TRAIN, "--nproc", "2", "--out", str(tmp_path / "R")]) == 2
    assert "under torchrun drop it" in capsys.readouterr().err


def test_stream_shards_are_the_columns_of_the_global_layout():
    from rnnlab.data.batching import batchify, shard_streams
    ids = torch.arange(103)
    whole = batchify(ids, 6)  # (17, 6)
    parts = [shard_streams(ids, 3, r, 2) for r in range(2)]
    assert torch.equal(torch.cat(parts, dim=1), whole)
    assert torch.equal(parts[1][:, 0], ids[51:68])  # rank 1 reads a contiguous stretch of the text
    with pytest.raises(ConfigError, match="rank must be in"):
        shard_streams(ids, 3, 2, 2)


def test_epoch_shuffle_shards_partition_each_global_batch():
    import numpy as np
    from rnnlab.train.shuffle import EpochShuffle
    one = EpochShuffle(27, seed=3)
    shards = [EpochShuffle(27, seed=3) for _ in range(2)]
    for r, s in enumerate(shards):
        s.shard(r, 2)
    assert one.num_batches(10) == 3 and shards[0].num_batches(5) == 3  # 27 = 10 + 10 + 7
    for index in range(3):
        parts = [s.batch(2, index, 5) for s in shards]
        assert np.array_equal(np.concatenate(parts), one.batch(2, index, 10))
    assert [len(s.batch(2, 2, 5)) for s in shards] == [4, 3]  # the short last batch, split evenly
    odd = EpochShuffle(21, seed=0)
    odd.shard(0, 2)
    assert odd.num_batches(5) == 2  # 21 = 10 + 10 + 1: one example cannot feed two processes
    with pytest.raises(ConfigError, match="cannot be shared by 3 processes"):
        EpochShuffle(2, seed=0).shard(0, 3)
