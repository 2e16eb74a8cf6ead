"""The cosine learning-rate schedule: the closed form per epoch, clamped after `total`, saved and
restored as JSON, wired from TrainConfig.epochs by the Trainer."""
import math

import pytest
import torch

from rnnlab.errors import ConfigError
from rnnlab.train.config import TrainConfig
from rnnlab.train.schedule import Schedule
from rnnlab.train.trainer import Trainer


def test_cosine_follows_the_closed_form_and_stays_at_the_floor():
    s = Schedule("cosine", base_lr=0.1, total=4, min_lr=0.01)
    got = [s.lr_for_epoch(e) for e in range(1, 7)]
    want = [0.01 + 0.09 * (1 + math.cos(math.pi * k / 4)) / 2 for k in (0, 1, 2, 3, 4, 4)]
    assert got == pytest.approx(want)
    assert got[0] == pytest.approx(0.1) and got[2] == pytest.approx(0.055)
    s.observe(1.0)  # validation metrics do not move it
    assert s.lr_for_epoch(2) == pytest.approx(want[1])
    assert Schedule.from_state_dict(s.state_dict()).lr_for_epoch(3) == pytest.approx(want[2])
    with pytest.raises(ConfigError, match="total"):
        Schedule("cosine", total=0)


class Constant:
    metric = "loss"

    def num_batches(self):
        return 1

    def train_step(self, model, epoch, index, carry):
        from rnnlab.train.trainer import StepOutput
        return StepOutput((model.w ** 2).sum(), 1)

    def evaluate(self, model, split):
        return {"loss": 1.0}


def test_trainer_anneals_over_its_epochs():
    model = torch.nn.Module()
    model.w = torch.nn.Parameter(torch.ones(2))
    config = TrainConfig(epochs=5, lr=0.2, schedule="cosine")
    trainer = Trainer(model, Constant(), config, None, progress=False, tensorboard=False)
    trainer.fit()
    lrs = [row["lr"] for row in trainer.log.rows if row["kind"] == "valid"]
    assert lrs == pytest.approx([0.1 * (1 + math.cos(math.pi * k / 5)) for k in range(5)])
