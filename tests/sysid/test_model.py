"""SignalModel: a teacher-forced NARX's one-step output uses the measured past, its free run only
the input; Elman/LSTM models have no delay line; the plant task's metrics and modes."""
import pytest
import torch

from rnnlab.datasets.plant import plant_signals
from rnnlab.errors import ConfigError
from rnnlab.sysid.model import SignalModel
from rnnlab.sysid.task import PlantTask


def test_one_step_and_free_run():
    torch.manual_seed(0)
    model = SignalModel.build(1, 1, model="narx", hidden_size=4, teacher=True, head=False)
    x, y = torch.randn(12, 2, 1), torch.randn(12, 2, 1)
    free, free_again = model(x), model(x, y=y, teacher_prob=0.0)
    torch.testing.assert_close(free, free_again)  # closed loop ignores the measured outputs
    one = model(x, y=y)
    torch.testing.assert_close(one[0], free[0])  # step 0 has no past output yet
    assert not torch.allclose(one[1:], free[1:])
    with torch.no_grad():  # one-step ŷ_t changes with y_{t-1} but never with y_t
        bumped = y.clone()
        bumped[5] += 1
        changed = (model(x, y=bumped) - one).abs().sum((1, 2)) > 0
    assert changed.tolist() == [False] * 6 + [True, True] + [False] * 4  # K_y = 2 steps later it has left the line
    assert model.narx.teacher_prob == 1.0  # the call's setting was restored
    assert "narx.weight_x" not in dict(model.named_parameters())  # the cell is registered once


def test_baselines_and_errors():
    lstm = SignalModel.build(1, 1, model="lstm", hidden_size=3)
    assert not lstm.teacher and lstm(torch.randn(5, 2, 1)).shape == (5, 2, 1)
    with pytest.raises(ConfigError, match="has none"):
        SignalModel.build(1, 1, model="elman", teacher=True)
    with pytest.raises(ConfigError, match="no output delay line"):
        lstm(torch.randn(5, 2, 1), y=torch.randn(5, 2, 1), teacher_prob=1.0)


def test_plant_task_modes_and_metrics():
    splits = {"train": plant_signals(200, seed=0), "valid": plant_signals(100, "sine", seed=1)}
    task = PlantTask(splits, window=20, batch_size=4, epochs=4, feedback="scheduled")
    assert [task.teacher_prob(e) for e in (1, 2, 4)] == pytest.approx([1.0, 2 / 3, 0.0])
    model = SignalModel.build(1, 1, model="narx", hidden_size=4, teacher=True, head=False)
    metrics = task.evaluate(model, "valid")
    pred = task.predictions(model, "valid")
    assert metrics["rmse_free"] == pytest.approx(float(((pred["free"] - splits["valid"].clean) ** 2).mean().sqrt()))
    assert task.train_step(model, 1, 0, None).loss.requires_grad
    with pytest.raises(ConfigError, match="feedback must be one of"):
        PlantTask(splits, feedback="open")
