"""The latching data: the class is the majority of the deciding inputs, then bounded noise."""
import pytest
import torch

from rnnlab.datasets.latching import latching_data
from rnnlab.errors import ConfigError


def test_class_is_the_majority_of_the_prefix_and_the_tail_is_noise():
    x, labels = latching_data(200, 15, prefix=3, noise=0.3, seed=1)
    assert x.shape == (18, 200, 1) and labels.shape == (200,)
    assert set(x[:3].unique().tolist()) == {-1.0, 1.0}
    assert torch.equal(labels, (x[:3, :, 0].sum(0) > 0).long())
    assert x[3:].abs().max() <= 0.3 and x[3:].std() > 0.1
    assert 0.3 < labels.float().mean() < 0.7
    again, _ = latching_data(200, 15, prefix=3, noise=0.3, seed=1)
    assert torch.equal(x, again) and not torch.equal(x, latching_data(200, 15, noise=0.3, seed=2)[0])


def test_bad_arguments():
    with pytest.raises(ConfigError, match="odd prefix"):
        latching_data(10, 5, prefix=2)
