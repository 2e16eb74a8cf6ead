"""The recall stream: every query asks for the symbol stored exactly d steps before; the stream
is reproducible from its seed and continues exactly from a state_dict."""
import pytest
import torch

from rnnlab.datasets.recall_stream import IGNORE, RecallStream
from rnnlab.errors import ConfigError


@pytest.mark.parametrize("delay", [1, 3, 7])
def test_every_query_recalls_the_symbol_d_steps_back(delay):
    s = RecallStream(delay, symbols=5, batch=3, seed=2)
    x, y = s.next(200)
    tokens = x.argmax(-1)
    asked = y != IGNORE
    assert asked.sum() > 10 and x.shape == (200, 3, 7)
    for t, b in asked.nonzero().tolist():
        assert tokens[t, b] == 6 and t >= delay and tokens[t - delay, b] == y[t, b]
        assert (tokens[t - delay + 1:t, b] == 5).all()  # blanks in between


def test_stream_is_seeded_and_resumable():
    a, b = RecallStream(4, batch=2, seed=9), RecallStream(4, batch=2, seed=9)
    first = a.next(30)
    state = a.state_dict()
    more = a.next(25)
    b.next(30)
    b.load_state_dict(state)
    again = b.next(25)
    assert torch.equal(more[0], again[0]) and torch.equal(more[1], again[1])
    assert torch.equal(first[1], RecallStream(4, batch=2, seed=9).next(30)[1])


def test_bad_arguments():
    with pytest.raises(ConfigError, match="delay"):
        RecallStream(0)
