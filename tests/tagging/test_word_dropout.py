"""Word dropout: identity in evaluation; in training a dropped word is read exactly as <unk> (its
trigrams and letters kept), at about the given rate; config round trip; bad rates refused."""
import pytest
import torch

from rnnlab.data.words import WordEncoder
from rnnlab.errors import ConfigError
from rnnlab.layers.word_features import WordFeatures
from rnnlab.tagging.chars import build_char_vocab
from rnnlab.tagging.inputs import tagger_inputs
from rnnlab.tagging.model import Tagger
from rnnlab.tagging.word_dropout import WordDropout

SENTENCES = [["show", "me", "flights", "to", "boston"], ["from", "denver"], ["to", "boston", "please"]]


def features(trigrams=True):
    encoder = WordEncoder.build(SENTENCES, trigrams=trigrams)
    torch.manual_seed(0)
    return WordFeatures(encoder.word_vocab, encoder.trigram_vocab, trigrams=trigrams, embedding_size=5)


def test_evaluation_reads_the_words_themselves():
    inner = features()
    dropped = WordDropout(inner, 0.9).eval()
    batch = dropped.encode(SENTENCES)
    assert torch.equal(dropped(batch), inner(batch))


def test_a_dropped_word_is_read_as_unk_with_its_own_trigrams():
    inner = features()
    dropped = WordDropout(inner, 0.5).train()
    batch = dropped.encode(SENTENCES)
    torch.manual_seed(3)
    got = dropped(batch)
    torch.manual_seed(3)  # the same draw, made by hand
    drop = torch.rand(batch.word_ids.shape) < 0.5
    unk = inner.word_vocab.unk_index
    want = inner(batch._replace(word_ids=batch.word_ids.masked_fill(drop, unk)))
    assert torch.equal(got, want)
    real = torch.arange(batch.word_ids.shape[0]).unsqueeze(1) < batch.lengths
    assert (drop & real).any() and (~drop & real).any()  # both kinds of slot are checked
    E = inner.embedding_size
    # the trigram part is that of the real word whether or not the word was dropped
    assert torch.equal(got[..., :-E], inner(batch)[..., :-E])
    assert torch.equal(got[..., -E:][drop & real], inner.embedding.weight[unk].expand(int((drop & real).sum()), E))


def test_the_rate_is_about_p():
    inner = features(trigrams=False)
    dropped = WordDropout(inner, 0.2).train()
    sentences = [["boston"] * 50] * 40
    batch = dropped.encode(sentences)
    torch.manual_seed(0)
    x = dropped(batch)
    is_unk = (x == inner.embedding.weight[inner.word_vocab.unk_index]).all(-1)
    assert 0.17 < is_unk.float().mean().item() < 0.23  # 2000 draws: sd 0.009


def test_bad_rates_are_refused():
    for p in (0, 1, -0.1, 1.5, True, "0.1"):
        with pytest.raises(ConfigError, match="word dropout"):
            WordDropout(features(), p)


def test_tagger_with_word_dropout_and_chars_rebuilds_from_its_config():
    encoder = WordEncoder.build(SENTENCES, trigrams=True)
    chars = build_char_vocab([w for s in SENTENCES for w in s])
    stack = tagger_inputs(WordFeatures(encoder.word_vocab, encoder.trigram_vocab, trigrams=True, embedding_size=4,
                                       projection=3), char_vocab=chars, chars="cnn", char_hidden=2, word_dropout=0.3)
    model = Tagger.build(stack, 4, hidden_size=5, bidirectional=True, crf=True)
    config = model.config()
    assert config["features"]["word_dropout"] == 0.3
    again = Tagger.from_config(config, encoder.word_vocab, encoder.trigram_vocab, chars)
    assert isinstance(again.features.inner, WordDropout) and again.config() == config
    again.load_state_dict(model.state_dict())
    batch = model.features.encode(SENTENCES)
    assert torch.equal(model.eval()(batch)[0], again.eval()(batch)[0])
    # without the key (every run saved before it existed): no wrapper
    del config["features"]["word_dropout"]
    assert not isinstance(Tagger.from_config(config, encoder.word_vocab, encoder.trigram_vocab, chars).features.inner,
                          WordDropout)
