"""Checkpoint integrity (issue 12, items 5 and 7): digests on every file, checked on load; trainer
positions checked for type and range; NaN weights refused; a broken metrics log refused on resume."""
import json
import math

import pytest
import torch
from safetensors.torch import save_file

from rnnlab.errors import CheckpointError
from rnnlab.train import TrainConfig, Trainer, load_weights, read_checkpoint, write_checkpoint
from rnnlab.train.checkpoint import state_digest, write_tensors
from tests.train.test_trainer import _lm_setup


def _flip_last_byte(path):
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01  # inside the last tensor's bytes: still a well-formed safetensors file
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("name", ["model.safetensors", "trainer.safetensors"])
def test_a_flipped_byte_in_a_checkpoint_file_is_detected(tmp_path, name):
    model = torch.nn.Linear(4, 2)
    write_checkpoint(tmp_path / "ck", model, {"moment": torch.randn(3), "step": 1})
    _flip_last_byte(tmp_path / "ck" / name)
    with pytest.raises(CheckpointError, match=rf"{name} is corrupt: its contents do not match the digest"):
        read_checkpoint(tmp_path / "ck", torch.nn.Linear(4, 2))


def test_a_flipped_byte_in_best_weights_is_detected(tmp_path):
    model = torch.nn.Linear(4, 2)
    write_tensors(tmp_path / "best.safetensors", model.state_dict())
    load_weights(torch.nn.Linear(4, 2), tmp_path / "best.safetensors")  # intact: loads
    _flip_last_byte(tmp_path / "best.safetensors")
    with pytest.raises(CheckpointError, match="best.safetensors is corrupt"):
        load_weights(torch.nn.Linear(4, 2), tmp_path / "best.safetensors")


def test_an_edited_trainer_json_is_detected(tmp_path):
    write_checkpoint(tmp_path / "ck", torch.nn.Linear(4, 2), {"step": 5, "index": 2})
    path = tmp_path / "ck" / "trainer.json"
    meta = json.loads(path.read_text())
    meta["state"]["step"] = 6
    path.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="trainer.json is corrupt or was edited"):
        read_checkpoint(tmp_path / "ck")


def test_files_without_digests_still_load(tmp_path):
    """rnnlab 0.1 wrote no digests (tests/fixtures/runs_v0_1): nothing to check, nothing refused."""
    model = torch.nn.Linear(4, 2)
    save_file(model.state_dict(), str(tmp_path / "old.safetensors"), metadata={"format": "rnnlab-checkpoint"})
    other = torch.nn.Linear(4, 2)
    load_weights(other, tmp_path / "old.safetensors")
    assert torch.equal(other.weight, model.weight)


def _rewrite_state(ck, **fields):
    """Edit trainer.json's state as a tamperer would, keeping its digest consistent."""
    path = ck / "trainer.json"
    meta = json.loads(path.read_text())
    meta["state"].update(fields)
    meta["sha256"] = state_digest(meta["state"])
    path.write_text(json.dumps(meta))


@pytest.mark.parametrize("fields, message", [
    ({"step": -1}, "'step' must be an integer >= 0"),
    ({"step": "12"}, "'step' must be an integer >= 0"),
    ({"step": 2.5}, "'step' must be an integer >= 0"),
    ({"epoch": 0}, "'epoch' must be an integer >= 1"),
    ({"epoch": True}, "'epoch' must be an integer >= 1"),
    ({"index": 10**13}, "'index' must be an integer >= 0"),
    ({"index": 9}, "beyond the 4 updates done"),
    ({"bad_epochs": None}, "'bad_epochs'"),
    ({"early_stopped": "no"}, "'early_stopped' must be true or false"),
    ({"best": "NaN"}, "'best' must be a finite number or null"),
    ({"optimizer": []}, "'optimizer' must be an object"),
    ({"config": 3}, "'config' must be an object"),
])
def test_trainer_positions_of_the_wrong_type_or_range_are_refused(tmp_path, fields, message):
    write_checkpoint(tmp_path / "ck", torch.nn.Linear(4, 2), {
        "epoch": 1, "index": 4, "step": 4, "bad_epochs": 0, "early_stopped": False, "best": None,
        "optimizer": {}, "config": {}})
    read_checkpoint(tmp_path / "ck")  # as written: fine
    _rewrite_state(tmp_path / "ck", **fields)
    with pytest.raises(CheckpointError, match=message):
        read_checkpoint(tmp_path / "ck")


def test_nan_weights_are_refused_at_load(tmp_path):
    model = torch.nn.Linear(4, 2)
    with torch.no_grad():
        model.weight[0, 0] = math.nan
    write_tensors(tmp_path / "w.safetensors", model.state_dict())  # a valid file, digest and all
    with pytest.raises(CheckpointError, match="weight holds NaN or infinite values"):
        load_weights(torch.nn.Linear(4, 2), tmp_path / "w.safetensors")


@pytest.fixture
def trained_run(tmp_path):
    model, task = _lm_setup()
    Trainer(model, task, TrainConfig(epochs=1, max_steps=3, log_every=1), tmp_path, progress=False, tensorboard=False).fit()
    return tmp_path


def _resume(run_dir):
    model, task = _lm_setup()
    Trainer(model, task, TrainConfig(epochs=1, max_steps=3, log_every=1), run_dir, progress=False, tensorboard=False).restore()


def test_resume_refuses_a_checkpoint_with_positions_of_the_wrong_type(trained_run):
    _rewrite_state(trained_run / "checkpoint", step="3", index=None)
    with pytest.raises(CheckpointError, match="'index' must be an integer"):
        _resume(trained_run)


def test_resume_refuses_an_index_beyond_the_epoch(trained_run):
    _rewrite_state(trained_run / "checkpoint", index=10_000, step=20_000)
    with pytest.raises(CheckpointError, match="stopped at update 10000 of an epoch that has"):
        _resume(trained_run)


@pytest.mark.parametrize("damage, message", [
    (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00"), "is not UTF-8 text"),
    (lambda p: (p.unlink(), p.mkdir()), "is not a file"),
    (lambda p: p.write_text('{"kind": "train", "step": 1}\nnot json\n{"kind": "train", "step": 2}\n'), "line 2 is not JSON"),
    (lambda p: p.write_text('[1, 2]\n{"kind": "train", "step": 2}\n'), "line 1 is not a metrics row"),
    (lambda p: p.write_text('{"kind": "train", "step": "2"}\n'), "line 1 is not a metrics row"),
])
def test_resume_refuses_a_broken_metrics_log(trained_run, damage, message):
    damage(trained_run / "metrics.jsonl")
    with pytest.raises(CheckpointError, match=message):
        _resume(trained_run)


def test_resume_drops_a_last_metrics_line_cut_short(trained_run):
    path = trained_run / "metrics.jsonl"
    rows = path.read_text().splitlines()
    path.write_text("\n".join(rows) + '\n{"kind": "tra')
    _resume(trained_run)
    assert path.read_text().splitlines() == [r for r in rows if json.loads(r)["step"] <= 3]
