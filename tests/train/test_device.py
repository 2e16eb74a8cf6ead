"""--device and --amp: the CPU path here; the CUDA cases skip on machines without a GPU (and must
pass wherever there is one)."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rnnlab.cli.main import main
from rnnlab.errors import ConfigError
from rnnlab.layers import Recurrent
from rnnlab.cells.registry import make_cell
from rnnlab.train import TrainConfig, Trainer
from rnnlab.train import device as dev
from rnnlab.train.checkpoint import read_checkpoint
from rnnlab.train.tbptt import Carry
from tests.train.ddp_worker import lm_setup

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without a GPU")


def test_resolve_device(monkeypatch):
    assert dev.resolve_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(dev, "cuda_available", lambda: False)
    assert dev.resolve_device("auto") == torch.device("cpu")
    with pytest.raises(ConfigError, match="--device cuda: no CUDA device is available"):
        dev.resolve_device("cuda")
    with pytest.raises(ConfigError, match="unknown device 'gpu'"):
        dev.resolve_device("gpu")


def test_device_and_amp_options_are_checked():
    with pytest.raises(ConfigError, match="device must be one of: auto, cpu, cuda"):
        TrainConfig(device="gpu")
    with pytest.raises(ConfigError, match="amp must be one of"):
        TrainConfig(amp="fp8")
    with pytest.raises(ConfigError, match="--amp fp16 needs a CUDA device"):
        dev.check_amp("fp16", torch.device("cpu"))
    dev.check_amp("bf16", torch.device("cpu"))
    assert dev.make_scaler("bf16", torch.device("cpu")) is None


def test_to_device_keeps_the_structure_of_a_carry():
    carry = Carry(5, ((torch.ones(2, 3), torch.zeros(2, 3)),))
    moved = dev.to_device(carry, torch.device("cpu"))
    assert isinstance(moved, Carry) and moved.pos == 5 and torch.equal(moved.state[0][0], carry.state[0][0])


def test_recurrence_runs_in_float32_under_autocast():
    """The layers around it are autocast; the recurrence (its carried state, the fused kernels) is not."""
    layer = Recurrent(make_cell("lstm", 4, 5))
    x = torch.randn(6, 2, 4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, state = layer(x.to(torch.bfloat16), None)
        again, _ = layer(x, state)
    assert out.dtype == torch.float32 and again.dtype == torch.float32
    reference, _ = layer(x)
    assert torch.allclose(out, reference, atol=2e-2)  # the input was rounded to bf16


def test_bf16_autocast_trains_and_resumes_on_cpu(tmp_path):
    model, task = lm_setup(2)
    config = TrainConfig(epochs=1, max_steps=3, device="cpu", amp="bf16", log_every=1)
    trainer = Trainer(model, task, config, tmp_path, progress=False, tensorboard=False)
    summary = trainer.fit()
    assert summary["step"] == 3 and all(torch.isfinite(p).all() for p in model.parameters())
    assert all(p.dtype == torch.float32 for p in model.parameters())  # weights stay float32
    model2, task2 = lm_setup(2)
    resumed = Trainer(model2, task2, TrainConfig(epochs=1, max_steps=4, device="cpu", amp="bf16"), tmp_path,
                      progress=False, tensorboard=False)
    resumed.restore()
    assert resumed.fit()["step"] == 4


@no_cuda
def test_cuda_without_a_gpu_is_one_clear_error(tmp_path, capsys):
    assert main(["train", "--task", "lm-char", "--device", "cuda", "--out", str(tmp_path / "R")]) == 2
    assert "--device cuda: no CUDA device is available" in capsys.readouterr().err
    assert not (tmp_path / "R").exists()


@no_cuda
def test_fp16_on_cpu_is_refused_before_training(tmp_path, capsys):
    assert main(["train", "--task", "lm-char", "--amp", "fp16", "--device", "cpu", "--max-chars", "2000",
                 "--out", str(tmp_path / "R")]) == 2
    assert "--amp fp16 needs a CUDA device" in capsys.readouterr().err


TINY = ["--task", "lm-char", "--max-chars", "3000", "--hidden", "8", "--embedding", "8", "--layers", "1",
        "--bptt", "10", "--batch-size", "4", "--no-progress", "--max-steps", "3"]


@cuda
@pytest.mark.parametrize("amp", ["off", "bf16", "fp16"])
def test_cuda_run_loads_and_resumes_on_cpu(tmp_path, amp, capsys):
    """Trained on the GPU (with the loss scaler for fp16), evaluated and resumed on the CPU, and back."""
    run = str(tmp_path / "R")
    assert main(["train", *TINY, "--device", "cuda", "--amp", amp, "--out", run]) == 0
    state = read_checkpoint(tmp_path / "R" / "checkpoint")
    assert ("scaler" in state) == (amp == "fp16")
    assert main(["eval", run, "--device", "cpu", "--weights", "last"]) == 0
    assert main(["eval", run, "--device", "cuda", "--weights", "last"]) == 0
    if amp != "fp16":  # fp16 is CUDA-only: that run resumes on the GPU
        assert main(["resume", run, "--device", "cpu", "--max-steps", "5", "--no-progress"]) == 0
    assert main(["resume", run, "--device", "cuda", "--max-steps", "7", "--no-progress"]) == 0
    assert main(["generate", run, "--device", "cuda", "--length", "5", "--seed", "0"]) == 0


@cuda
def test_cpu_run_loads_on_cuda(tmp_path):
    run = str(tmp_path / "R")
    assert main(["train", *TINY, "--device", "cpu", "--out", run]) == 0
    assert main(["eval", run, "--device", "cuda", "--weights", "last"]) == 0
    assert main(["resume", run, "--device", "cuda", "--max-steps", "5", "--no-progress"]) == 0


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "runs_v0_1"


def test_prediction_commands_take_device(capsys, tmp_path):
    """--device reaches generate, tag and explore (the same helper as eval) — on a run written by
    rnnlab 0.1, before devices existed."""
    assert main(["generate", str(FIXTURES / "lm"), "--device", "cpu", "--length", "5", "--seed", "0"]) == 0
    assert main(["tag", str(FIXTURES / "tagging"), "--device", "cpu", "show me flights to boston"]) == 0
    assert main(["explore", str(FIXTURES / "lm"), "--device", "cpu", "--examples", "1",
                 "--export", str(tmp_path / "page.html")]) == 0
    capsys.readouterr()


def fp16_on_cpu(monkeypatch):
    """fp16 is refused on a CPU for users (slow, and bf16 needs no scaling there), but CPU autocast
    runs float16 and torch.amp.GradScaler("cpu") scales the same way as on CUDA: lifting the refusal
    runs the Trainer's whole loss-scaling path (scale, unscale before clipping, skip on overflow,
    update, checkpoint) on a machine without a GPU."""
    import rnnlab.train.trainer as trainer_module
    monkeypatch.setattr(trainer_module, "check_amp", lambda amp, device: None)


def test_fp16_loss_scaling_path_trains_and_resumes(monkeypatch, tmp_path):
    fp16_on_cpu(monkeypatch)
    model, task = lm_setup(2)
    config = TrainConfig(epochs=1, max_steps=3, device="cpu", amp="fp16", log_every=1)
    trainer = Trainer(model, task, config, tmp_path, progress=False, tensorboard=False)
    assert isinstance(trainer.scaler, torch.amp.GradScaler)
    assert trainer.fit()["step"] == 3
    assert all(torch.isfinite(p).all() and p.dtype == torch.float32 for p in model.parameters())
    scale = trainer.scaler.get_scale()
    model2, task2 = lm_setup(2)
    resumed = Trainer(model2, task2, TrainConfig(epochs=1, max_steps=4, device="cpu", amp="fp16"), tmp_path,
                      progress=False, tensorboard=False)
    resumed.restore()
    assert resumed.scaler.get_scale() == scale  # the scaler's state travels in the checkpoint
    assert resumed.fit()["step"] == 4


def test_fp16_overflow_skips_the_update_and_lowers_the_scale(monkeypatch, tmp_path):
    fp16_on_cpu(monkeypatch)
    model, task = lm_setup(2)
    trainer = Trainer(model, task, TrainConfig(epochs=1, max_steps=1, device="cpu", amp="fp16"), tmp_path,
                      progress=False, tensorboard=False)
    trainer.scaler = torch.amp.GradScaler("cpu", init_scale=3e38)  # scaled gradients overflow float32
    before = [p.detach().clone() for p in model.parameters()]
    assert trainer.fit()["step"] == 1  # an overflow is expected with loss scaling: no DivergedError
    assert all(torch.equal(a, p) for a, p in zip(before, model.parameters()))  # the update was skipped
    assert trainer.scaler.get_scale() < 3e38
