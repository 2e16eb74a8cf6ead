"""The training loop: learning, clipping, schedules, early stopping, checkpoints and exact resume."""
import json
import os
import signal

import pytest
import torch

from rnnlab.errors import CheckpointError, ConfigError, DivergedError
from rnnlab.lm import LanguageModel, LanguageModelTask
from rnnlab.train import (Schedule, StepOutput, TrainConfig, Trainer, clip_gradients, read_checkpoint,
                          seed_everything, write_checkpoint)

TEXT = "the cat sat on the mat. the dog sat on the log. " * 12


def _lm_setup(dropout=0.0, bptt=10, bptt_back=None, batch=4, seed=0, text=TEXT):
    chars = sorted(set(text))
    ids = torch.tensor([chars.index(c) for c in text])
    seed_everything(seed)
    model = LanguageModel.build(len(chars), hidden_size=24, num_layers=2, embedding_size=8, dropout=dropout)
    task = LanguageModelTask({"train": ids, "valid": ids[:128]}, level="char", batch_size=batch, bptt=bptt,
                             bptt_back=bptt_back, eval_batch_size=2)
    return model, task


def _train_losses(run_dir):
    rows = [json.loads(line) for line in open(run_dir / "metrics.jsonl")]
    return [(r["step"], r["loss"]) for r in rows if r["kind"] == "train"], [r["loss"] for r in rows if r["kind"] == "valid"]


def test_tiny_lm_overfits_tiny_corpus():
    model, task = _lm_setup(text="abcdefgh" * 40)
    summary = Trainer(model, task, TrainConfig(epochs=30, lr=1e-2, log_every=5), progress=False).fit()
    assert summary["stopped"] == "finished"
    assert summary["valid"]["loss"] < 0.05, summary["valid"]


def test_clipping_bounds_the_global_norm_and_values():
    params = [torch.nn.Parameter(torch.zeros(5, 3)), torch.nn.Parameter(torch.zeros(4))]
    params[0].grad, params[1].grad = torch.full((5, 3), 2.0), torch.full((4,), -3.0)
    before = float(torch.cat([p.grad.flatten() for p in params]).norm())
    assert clip_gradients(params, max_norm=1.0) == pytest.approx(before)
    after = float(torch.cat([p.grad.flatten() for p in params]).norm())
    assert after == pytest.approx(1.0, rel=1e-6)
    assert torch.allclose(params[0].grad / params[0].grad.norm(), torch.full((5, 3), 2.0) / torch.full((5, 3), 2.0).norm())
    params[0].grad, params[1].grad = torch.full((5, 3), 2.0), torch.full((4,), -3.0)
    clip_gradients(params, max_value=0.5)
    assert params[0].grad.max() == 0.5 and params[1].grad.min() == -0.5
    # a small gradient is left alone
    params[0].grad, params[1].grad = torch.full((5, 3), 1e-3), torch.full((4,), 1e-3)
    clip_gradients(params, max_norm=1.0)
    assert torch.equal(params[0].grad, torch.full((5, 3), 1e-3))


def test_trainer_applies_clipping():
    model, task = _lm_setup()
    seen = []
    original = torch.optim.Adam.step

    def spy(self, *a, **k):
        seen.append(float(torch.cat([p.grad.flatten() for g in self.param_groups for p in g["params"]]).norm()))
        return original(self, *a, **k)
    torch.optim.Adam.step = spy
    try:
        Trainer(model, task, TrainConfig(epochs=1, clip_norm=0.05, max_steps=5), progress=False).fit()
    finally:
        torch.optim.Adam.step = original
    assert len(seen) == 5 and max(seen) <= 0.05 * (1 + 1e-5)


def test_step_schedule_is_zarembas():
    s = Schedule("step", base_lr=1.0, factor=0.5, start=4)
    assert [s.lr_for_epoch(e) for e in range(1, 8)] == [1, 1, 1, 1, 0.5, 0.25, 0.125]


def test_plateau_schedule_decays_after_patience():
    s = Schedule("plateau", base_lr=1.0, factor=0.1, patience=1)
    for metric in [5.0, 4.0, 4.0, 4.0]:
        s.observe(metric)
    assert s.lr_for_epoch(5) == pytest.approx(0.1)
    s2 = Schedule.from_state_dict(json.loads(json.dumps(s.state_dict())))
    assert s2 == s


class _FakeTask:
    """A task whose validation metric we script."""
    metric = "loss"

    def __init__(self, valid, train_loss=None):
        self.valid, self.calls, self.train_loss = list(valid), 0, train_loss
        self.w = None

    def num_batches(self):
        return 2

    def train_step(self, model, epoch, index, carry):
        loss = (model.weight ** 2).sum() if self.train_loss is None else self.train_loss(model)
        return StepOutput(loss, 1, None)

    def evaluate(self, model, split):
        self.calls += 1
        return {"loss": self.valid[self.calls - 1]}


def test_early_stopping_and_best_weights(tmp_path):
    model = torch.nn.Linear(3, 1)
    task = _FakeTask([3.0, 2.0, 2.5, 2.4, 2.6, 1.0])
    summary = Trainer(model, task, TrainConfig(epochs=10, early_stopping=3, lr=0.1), tmp_path, progress=False).fit()
    assert summary["stopped"] == "early stopping" and summary["epochs_done"] == 5
    assert (tmp_path / "best.safetensors").is_file()
    # resuming an early-stopped run does nothing more
    again = Trainer(model, task, TrainConfig(epochs=10, early_stopping=3, lr=0.1), tmp_path, progress=False)
    again.restore()
    assert again.fit()["stopped"] == "early stopping" and task.calls == 5


def test_divergence_is_reported():
    model = torch.nn.Linear(3, 1)
    task = _FakeTask([1.0], train_loss=lambda m: m.weight.sum() * float("nan"))
    with pytest.raises(DivergedError, match="diverged at step 1"):
        Trainer(model, task, TrainConfig(epochs=1), progress=False).fit()


@pytest.mark.parametrize("optimizer,bptt_back", [("adam", None), ("sgd", 15)])
def test_resume_gives_the_same_losses_as_an_uninterrupted_run(tmp_path, optimizer, bptt_back):
    cfg = dict(epochs=3, optimizer=optimizer, lr=0.01 if optimizer == "adam" else 0.5, log_every=1,
               schedule="step", decay_start=1)
    model, task = _lm_setup(dropout=0.3, bptt_back=bptt_back)
    Trainer(model, task, TrainConfig(**cfg), tmp_path / "a", progress=False).fit()
    reference = _train_losses(tmp_path / "a")
    n = task.num_batches()

    # stop mid-epoch 2 (with a carried state and dropout RNG in flight), then resume in a fresh process-like setup
    model, task = _lm_setup(dropout=0.3, bptt_back=bptt_back, seed=0)
    Trainer(model, task, TrainConfig(**cfg, max_steps=n + 3), tmp_path / "b", progress=False).fit()
    torch.manual_seed(12345)  # disturb the global RNG: the checkpoint must restore it
    model, task = _lm_setup(dropout=0.3, bptt_back=bptt_back, seed=99)  # different init: overwritten
    trainer = Trainer(model, task, TrainConfig(**cfg), tmp_path / "b", progress=False)
    trainer.restore()
    assert (trainer.epoch, trainer.index, trainer.step) == (2, 3, n + 3)
    trainer.fit()
    assert _train_losses(tmp_path / "b") == reference


def test_interrupt_checkpoints_after_the_current_update(tmp_path):
    model, task = _lm_setup()
    original = task.train_step

    def interrupting(model, epoch, index, carry):
        if epoch == 1 and index == 2:
            os.kill(os.getpid(), signal.SIGINT)  # as if the user pressed Ctrl-C
        return original(model, epoch, index, carry)
    task.train_step = interrupting
    summary = Trainer(model, task, TrainConfig(epochs=1), tmp_path, progress=False).fit()
    assert summary["stopped"] == "interrupted" and summary["step"] == 3
    assert read_checkpoint(tmp_path / "checkpoint")["step"] == 3


def test_checkpoint_round_trip_and_atomic_swap(tmp_path):
    model = torch.nn.Linear(4, 2)
    state = {"a": 1, "b": [1.5, None, "x"], "t": (torch.arange(3), (torch.ones(2, 2, dtype=torch.float64),)),
             "opt": {0: {"step": torch.tensor(3.0)}, 1: {}}, "flag": True}
    write_checkpoint(tmp_path / "ck", model, state)
    other = torch.nn.Linear(4, 2)
    back = read_checkpoint(tmp_path / "ck", other)
    assert torch.equal(other.weight, model.weight)
    assert back["a"] == 1 and back["b"] == [1.5, None, "x"] and back["flag"] is True
    assert isinstance(back["t"], tuple) and torch.equal(back["t"][0], torch.arange(3))
    assert back["t"][1][0].dtype == torch.float64 and set(back["opt"]) == {0, 1}
    assert torch.equal(back["opt"][0]["step"], torch.tensor(3.0))
    # a second write replaces the first and leaves no temporary directories
    write_checkpoint(tmp_path / "ck", model, {"a": 2})
    assert read_checkpoint(tmp_path / "ck")["a"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck"]
    # crash between the two renames: only ck.old exists, and it is used
    os.rename(tmp_path / "ck", tmp_path / "ck.old")
    assert read_checkpoint(tmp_path / "ck")["a"] == 2
    # crash while writing: a half-written ck.tmp is ignored
    (tmp_path / "ck.tmp").mkdir()
    (tmp_path / "ck.tmp" / "trainer.json").write_text("{")
    assert read_checkpoint(tmp_path / "ck")["a"] == 2


def test_checkpoint_errors(tmp_path):
    model = torch.nn.Linear(4, 2)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        read_checkpoint(tmp_path / "none")
    write_checkpoint(tmp_path / "ck", model, {"a": 1})
    (tmp_path / "ck" / "model.safetensors").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(CheckpointError, match="corrupt or not a safetensors"):
        read_checkpoint(tmp_path / "ck", model)
    write_checkpoint(tmp_path / "ck", model, {"a": 1})
    with pytest.raises(CheckpointError, match="do not fit|shape"):
        read_checkpoint(tmp_path / "ck", torch.nn.Linear(5, 2))
    (tmp_path / "ck" / "trainer.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(CheckpointError, match="not an rnnlab checkpoint"):
        read_checkpoint(tmp_path / "ck")
    (tmp_path / "ck" / "trainer.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="corrupt"):
        read_checkpoint(tmp_path / "ck")


def test_checkpoints_contain_no_pickle(tmp_path):
    model, task = _lm_setup()
    Trainer(model, task, TrainConfig(epochs=1, max_steps=2), tmp_path, progress=False).fit()
    for path in (tmp_path / "checkpoint").iterdir():
        assert path.suffix in (".json", ".safetensors")
        assert b"\x80\x04" not in path.read_bytes()[:2]  # no pickle protocol header


def test_train_config_validation():
    with pytest.raises(ConfigError, match="epochs"):
        TrainConfig(epochs=0)
    with pytest.raises(ConfigError, match="clip_norm"):
        TrainConfig(clip_norm=-1.0)
    with pytest.raises(ConfigError, match="unknown training option"):
        TrainConfig.from_dict({"epochs": 1, "lr_typo": 3})
    with pytest.raises(ConfigError, match="unknown optimizer"):
        Trainer(torch.nn.Linear(2, 2), _FakeTask([1.0]), TrainConfig(optimizer="rmsprop"), progress=False)


def test_metrics_jsonl_rows(tmp_path):
    model, task = _lm_setup()
    Trainer(model, task, TrainConfig(epochs=2, log_every=3), tmp_path, progress=False).fit()
    rows = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")]
    kinds = [r["kind"] for r in rows]
    assert kinds.count("valid") == 2 and "train" in kinds
    train = [r for r in rows if r["kind"] == "train"]
    assert all(r["tokens_per_s"] > 0 and r["grad_norm"] > 0 and r["lr"] == 2e-3 for r in train)
    assert all({"bpc", "ppl", "loss"} <= set(r) for r in rows if r["kind"] == "valid")
