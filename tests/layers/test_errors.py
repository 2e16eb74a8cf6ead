"""Bad input gets an error that names the problem."""
import pytest
import torch

import rnnlab
from rnnlab import ElmanCell, GRUCell, LSTMCell, Recurrent


@pytest.fixture
def lstm():
    return Recurrent(LSTMCell(3, 4))


def test_wrong_rank(lstm):
    with pytest.raises(ValueError, match=r"must be 3-D \(time, batch, features\), got shape \(5, 3\)"):
        lstm(torch.randn(5, 3))
    with pytest.raises(ValueError, match="must be 2-D"):
        LSTMCell(3, 4)(torch.randn(2, 5, 3), (torch.zeros(2, 4), torch.zeros(2, 4)))


def test_wrong_feature_size(lstm):
    with pytest.raises(ValueError, match="expected 3 input features, got 7"):
        lstm(torch.randn(5, 2, 7))
    with pytest.raises(ValueError, match="expected input size 3, got 7"):
        ElmanCell(3, 4)(torch.randn(2, 7), torch.zeros(2, 4))


def test_empty_sequence(lstm):
    with pytest.raises(ValueError, match="empty sequence"):
        lstm(torch.randn(0, 2, 3))


def test_wrong_dtype(lstm):
    with pytest.raises(TypeError, match="floating point"):
        lstm(torch.ones(5, 2, 3, dtype=torch.long))
    with pytest.raises(TypeError, match="does not match parameter dtype"):
        lstm(torch.randn(5, 2, 3, dtype=torch.float64))


@pytest.mark.parametrize(
    "lengths, message",
    [
        ([5, 6], r"a length \(6\) exceeds the sequence's time dimension \(5\)"),
        ([5, 0], "every length must be >= 1"),
        ([5, 2, 1], "one entry per sequence"),
        (torch.tensor([5.0, 2.0]), "must be integers"),
    ],
)
def test_bad_lengths(lstm, lengths, message):
    with pytest.raises((ValueError, TypeError), match=message):
        lstm(torch.randn(5, 2, 3), lengths=lengths)


def test_state_of_wrong_shape(lstm):
    x = torch.randn(5, 2, 3)
    with pytest.raises(ValueError, match=r"initial state\[1\]: expected shape \(2, 4\), got \(2, 5\)"):
        lstm(x, (torch.zeros(2, 4), torch.zeros(2, 5)))
    with pytest.raises(ValueError, match="expected a tuple of 2 parts"):
        lstm(x, torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"expected shape \(2, 4\), got \(3, 4\)"):
        Recurrent(GRUCell(3, 4))(x, torch.zeros(3, 4))
    with pytest.raises(ValueError, match=r"h_0 must have shape \(2, 2, 4\)"):
        rnnlab.GRU(3, 4, num_layers=2)(x, torch.zeros(1, 2, 4))


def test_unknown_activation():
    with pytest.raises(ValueError, match="unknown activation 'softsign'; choose one of"):
        ElmanCell(3, 4, activation="softsign")
    with pytest.raises(ValueError, match="unknown candidate_activation 'gelu'"):
        LSTMCell(3, 4, candidate_activation="gelu")


def test_fused_true_without_fused_path():
    layer = Recurrent(rnnlab.JordanCell(3, 4, 2), fused=True)
    with pytest.raises(ValueError, match="no hand-derived BPTT"):
        layer(torch.randn(5, 2, 3))


def test_wrappers_reject_bad_settings():
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        rnnlab.LeakyCell(ElmanCell(3, 4), alpha=1.0)
    with pytest.raises(ValueError, match="does not split into 3 equal groups"):
        rnnlab.ClockworkCell(ElmanCell(3, 4), periods=(1, 2, 4))
    with pytest.raises(TypeError, match="wraps an rnnlab cell"):
        rnnlab.Zoneout(torch.nn.LSTMCell(3, 4), 0.1)
