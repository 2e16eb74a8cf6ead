"""The learning-rate schedule of the qa preset is Sukhbaatar et al.'s (lr 0.01 halved every 25
epochs for 100 epochs, gradient norm clipped to 40), through the step schedule's `decay_every`,
which leaves the every-epoch step schedule as it was."""
from __future__ import annotations

import pytest

from rnnlab.errors import ConfigError
from rnnlab.recipes.memory import QA_RECIPE
from rnnlab.train.schedule import Schedule


def test_qa_preset_halves_the_rate_every_25_epochs():
    options = QA_RECIPE.options({"task": "qa-all"})
    config = QA_RECIPE.train_config(options)
    assert (config.epochs, config.clip_norm, options.linear_epochs) == (100, 40.0, 20)
    schedule = Schedule(config.schedule, base_lr=config.lr, factor=config.decay_factor, start=config.decay_start,
                        every=config.decay_every)
    rates = {epoch: schedule.lr_for_epoch(epoch) for epoch in range(1, 101)}
    assert rates[1] == rates[25] == 0.01
    assert rates[26] == rates[50] == 0.005
    assert rates[51] == rates[75] == 0.0025
    assert rates[76] == rates[100] == 0.00125


def test_step_schedule_without_every_decays_each_epoch_as_before():
    schedule = Schedule("step", base_lr=1.0, factor=0.5, start=4)
    assert [schedule.lr_for_epoch(e) for e in range(1, 8)] == [1.0, 1.0, 1.0, 1.0, 0.5, 0.25, 0.125]
    with pytest.raises(ConfigError, match="every"):
        Schedule("step", every=0)
