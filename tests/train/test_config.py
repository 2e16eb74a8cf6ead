"""TrainConfig and the typed-options base: every field checked when the object is made."""
import math
from dataclasses import dataclass

import pytest

from rnnlab.errors import ConfigError
from rnnlab.train import Options, TrainConfig, option


@pytest.mark.parametrize("bad, message", [
    ({"lr": 0.0}, "lr must be > 0"), ({"lr": -1}, "lr must be > 0"), ({"lr": math.nan}, "lr must be a finite"),
    ({"lr": math.inf}, "lr must be a finite"), ({"epochs": "3"}, "epochs must be an int"), ({"epochs": True}, "epochs must be an int"),
    ({"optimizer": "rmsprop"}, "unknown optimizer 'rmsprop'"), ({"schedule": "linear"}, "schedule must be one of"),
    ({"momentum": 1.0, "optimizer": "sgd"}, "momentum must be < 1"), ({"momentum": 0.5}, "momentum applies to sgd"),
    ({"log_every": 0}, "log_every must be >= 1"), ({"clip_norm": 0.0}, "clip_norm must be > 0"),
    ({"epochs": None}, "epochs cannot be none"), ({"max_time": -5}, "max_time must be > 0"),
])
def test_bad_values_name_the_option(bad, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**bad)


def test_values_are_normalised_and_budgets_listed():
    config = TrainConfig(lr=1, clip_norm=None, max_steps=3)
    assert isinstance(config.lr, float) and config.clip_norm is None
    assert set(TrainConfig.BUDGETS) <= set(config.to_dict())
    assert TrainConfig().epochs == 2  # the CLI's default: one definition for the library and the command line


def test_of_takes_the_training_fields_of_a_larger_options_object():
    @dataclass
    class Bigger(TrainConfig):
        hidden: int = option(8, "units", min=1, max=64)
        name: str = option("x", "a name", choices=lambda: ("x", "y"))
    big = Bigger(lr=0.5, hidden=4)
    assert TrainConfig.of(big) == TrainConfig(lr=0.5)
    with pytest.raises(ConfigError, match="hidden must be <= 64"):
        Bigger(hidden=65)
    with pytest.raises(ConfigError, match="name must be one of: x, y"):
        Bigger(name="z")
    assert isinstance(big, Options)
