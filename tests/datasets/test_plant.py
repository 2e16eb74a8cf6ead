"""The Narendra-Parthasarathy plant: the recursion by hand, the input shift, the noise."""
import math

import pytest
import torch

from rnnlab.datasets.plant import plant_signals
from rnnlab.errors import ConfigError


def test_outputs_follow_the_plant_equation_and_inputs_are_shifted():
    s = plant_signals(300, "random", noise=0.0, seed=3)
    y, x = s.clean[:, 0].double(), s.x[:, 0].double()
    for t in range(2, 300):  # y_t = y_{t-1} y_{t-2} (y_{t-1} + 2.5) / (1 + y_{t-1}² + y_{t-2}²) + u_{t-1}, x_t = u_{t-1}
        want = y[t - 1] * y[t - 2] * (y[t - 1] + 2.5) / (1 + y[t - 1] ** 2 + y[t - 2] ** 2) + x[t]
        assert float(y[t]) == pytest.approx(float(want), abs=1e-5)
    assert torch.equal(s.y, s.clean) and s.x.abs().max() <= 2 and y.abs().max() < 10


def test_sine_input_and_measurement_noise():
    s = plant_signals(2000, "sine", noise=0.1, seed=0)
    torch.testing.assert_close(s.x[1:26, 0], torch.sin(2 * math.pi * torch.arange(25) / 25))
    assert float((s.y - s.clean).std()) == pytest.approx(0.1, rel=0.1)
    with pytest.raises(ConfigError, match="plant input must be one of"):
        plant_signals(10, "square")
