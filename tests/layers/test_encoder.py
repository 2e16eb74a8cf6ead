"""build_encoder: the same stack the models used to build by hand, its spec, and the input checks."""
import pytest
import torch

from rnnlab.cells.elman import ElmanCell
from rnnlab.cells.registry import make_cell
from rnnlab.errors import ConfigError, DataError
from rnnlab.layers import Bidirectional, Recurrent, Stacked
from rnnlab.layers.encoder import EncoderSpec, build_encoder
from rnnlab.layers.sequence import OneHot, check_tokens


@pytest.mark.parametrize("bidirectional", [False, True])
def test_encoder_equals_the_hand_built_stack(bidirectional):
    torch.manual_seed(0)
    enc = build_encoder("lstm", 3, 4, 2, bidirectional=bidirectional)
    torch.manual_seed(0)
    layers, width = [], 3
    for _ in range(2):
        if bidirectional:
            layer = Bidirectional(Recurrent(make_cell("lstm", width, 4)), Recurrent(make_cell("lstm", width, 4), reverse=True))
        else:
            layer = Recurrent(make_cell("lstm", width, 4))
        layers.append(layer)
        width = layer.output_size
    ref = Stacked(layers)
    x, lengths = torch.randn(5, 2, 3), torch.tensor([5, 3])
    torch.testing.assert_close(enc(x, lengths=lengths)[0], ref(x, lengths=lengths)[0], rtol=0, atol=0)
    assert enc.output_size == 4 * (1 + bidirectional) and enc.directions == 1 + bidirectional
    assert enc.forward_size == 4
    assert enc.spec == EncoderSpec("lstm", 3, 4, 2, bidirectional)
    assert enc.spec.to_dict()["cell"] == "lstm"


def test_factory_residual_dropout_and_merge():
    enc = build_encoder(ElmanCell, 4, 4, 3, residual=True, dropout=0.5)
    assert all(isinstance(layer.cell, ElmanCell) for layer in enc.layers)
    assert enc.residual and enc.dropout == 0.5
    with pytest.raises(ConfigError, match="cell factory"):
        enc.spec.cell_name
    x = torch.randn(3, 2, 4)
    enc.eval()
    y = x
    for layer in enc.layers:  # residual: every layer adds its input (no dropout in eval)
        y = layer(y)[0] + y
    torch.testing.assert_close(enc(x)[0], y)
    summed = build_encoder("gru", 2, 3, bidirectional=True, merge="sum")
    assert summed.output_size == 3 and summed.directions == 1


def test_bad_arguments():
    with pytest.raises(ConfigError, match="unknown cell 'lsmt'"):
        build_encoder("lsmt", 2, 3)
    with pytest.raises(ConfigError, match="sizes must be >= 1"):
        build_encoder("gru", 2, 3, 0)
    with pytest.raises(ConfigError, match="dropout"):
        build_encoder("gru", 2, 3, dropout=1.0)
    with pytest.raises(ConfigError, match="merge"):
        build_encoder("gru", 2, 3, bidirectional=True, merge="max")
    with pytest.raises(ConfigError, match="registry name or a factory"):
        build_encoder(3, 2, 3)


@pytest.mark.parametrize("tokens, lengths, message", [
    ([[1]], None, "tensor of integer ids"),
    (torch.zeros(2, 2), None, "integer ids"),
    (torch.zeros(2, dtype=torch.long), None, r"\(T, B\)"),
    (torch.zeros(0, 2, dtype=torch.long), None, r"\(time, batch\)"),
    (torch.tensor([[1, 9]]), None, r"token id out of range \[0, 5\): min 1, max 9"),
    (torch.zeros(2, 2, dtype=torch.long), torch.tensor([True, True]), "lengths must be integers"),
    (torch.zeros(2, 2, dtype=torch.long), [2], "one entry per sequence"),
    (torch.zeros(2, 2, dtype=torch.long), [3, 1], r"exceeds the sequence's time dimension \(2\)"),
])
def test_token_checks(tokens, lengths, message):
    with pytest.raises(DataError, match=message):
        check_tokens(tokens, 5, "here", lengths)


def test_token_range_is_checked_over_real_steps_only():
    tokens = torch.tensor([[1, 2], [3, -7]])
    assert check_tokens(tokens, 5, "here", [2, 1]).tolist() == [2, 1]  # the -7 is padding
    with pytest.raises(DataError, match="min -7"):
        check_tokens(tokens, 5, "here")
    assert check_tokens(tokens[:, :1], 5, "here").tolist() == [2]


def test_one_hot_follows_the_module_dtype():
    m = OneHot(4).double()
    assert torch.equal(m(torch.tensor([[2]])), torch.eye(4, dtype=torch.float64)[2].view(1, 1, 4))
    assert list(m.state_dict()) == []
