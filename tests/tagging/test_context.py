"""The context window of neighbouring words: the naive definition, padding never leaks in,
gradcheck, config round trip through the tagger."""
import pytest
import torch
from torch import nn

from rnnlab.data.words import WordBatch, WordEncoder
from rnnlab.errors import ConfigError
from rnnlab.layers.word_features import WordFeatures
from rnnlab.tagging.context import ContextWindow
from rnnlab.tagging.model import Tagger

SENTENCES = [["show", "me", "flights", "to", "boston"], ["from", "denver"], ["to", "boston", "please"]]


class Given(nn.Module):
    """Features that are a given tensor (T, B, D), whatever the batch."""
    def __init__(self, x):
        super().__init__()
        self.x, self.output_size = x, x.shape[-1]

    def forward(self, batch):
        return self.x


def naive_window(x, lengths, r):
    T, B, D = x.shape
    out = torch.zeros(T, B, (2 * r + 1) * D, dtype=x.dtype)
    for b in range(B):
        for t in range(int(lengths[b])):
            for k in range(2 * r + 1):
                s = t + k - r
                if 0 <= s < int(lengths[b]):
                    out[t, b, k * D:(k + 1) * D] = x[s, b]
    return out


@pytest.mark.parametrize("r", [1, 2])
def test_window_equals_the_naive_definition_and_ignores_padding(r):
    torch.manual_seed(0)
    x = torch.randn(5, 3, 4, dtype=torch.float64)
    lengths = torch.tensor([5, 2, 3])
    x[2:, 1] = float("nan")  # padded steps may hold anything
    batch = WordBatch(torch.zeros(5, 3, dtype=torch.long), lengths)
    got = ContextWindow(Given(x), r)(batch)
    assert got.shape == (5, 3, (2 * r + 1) * 4)
    want = naive_window(torch.nan_to_num(x), lengths, r)
    real = torch.arange(5).unsqueeze(1) < lengths
    assert torch.equal(got[real], want[real])


def test_gradcheck_float64():
    torch.manual_seed(1)
    lengths = torch.tensor([4, 2])
    batch = WordBatch(torch.zeros(4, 2, dtype=torch.long), lengths)
    x = torch.randn(4, 2, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: ContextWindow(Given(x), 2)(batch), (x,))


def test_a_sentence_gets_the_same_windows_alone_and_in_a_batch():
    encoder = WordEncoder.build(SENTENCES, trigrams=True)
    torch.manual_seed(0)
    window = ContextWindow(WordFeatures(encoder.word_vocab, encoder.trigram_vocab, trigrams=True,
                                        embedding_size=5, projection=4), 1)
    together = window(window.encode(SENTENCES))
    for b, s in enumerate(SENTENCES):
        alone = window(window.encode([s]))
        assert torch.allclose(together[:len(s), b], alone[:, 0])


def test_bad_radius_is_refused():
    for r in (0, -1, 1.5, True):
        with pytest.raises(ConfigError, match="radius"):
            ContextWindow(Given(torch.zeros(1, 1, 1)), r)


def test_tagger_with_a_window_rebuilds_from_its_config():
    encoder = WordEncoder.build(SENTENCES, trigrams=False)
    features = ContextWindow(WordFeatures(encoder.word_vocab, embedding_size=6), 2)
    model = Tagger.build(features, 4, hidden_size=5, bidirectional=True)
    assert model.encoder.input_size == 5 * 6
    config = model.config()
    assert config["features"]["context"] == 2
    again = Tagger.from_config(config, encoder.word_vocab)
    assert isinstance(again.features, ContextWindow) and again.config() == config
    again.load_state_dict(model.state_dict())
    batch = model.features.encode(SENTENCES)
    assert torch.equal(model.eval()(batch)[0], again.eval()(batch)[0])
