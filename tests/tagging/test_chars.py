"""Character-level word encoders: the batch of distinct words, a word's vector depends only on its
own letters (padding masked), the CNN against a loop over positions, gradcheck, config round trip."""
import pytest
import torch
from torch.func import functional_call

from rnnlab.data.words import WordEncoder
from rnnlab.errors import ConfigError, DataError
from rnnlab.layers.word_features import WordFeatures
from rnnlab.tagging.chars import CharWordEncoder, CharWordFeatures, build_char_vocab
from rnnlab.tagging.inputs import inputs_from_config, tagger_inputs
from rnnlab.tagging.model import Tagger

SENTENCES = [["to", "boston", "to"], ["a"], ["from", "denver", "to", "pittsburgh"]]


def make(kind, dtype=torch.float32, E=4, H=3, seed=0):
    encoder = WordEncoder.build(SENTENCES, trigrams=False)
    chars = build_char_vocab([w for s in SENTENCES for w in s])
    torch.manual_seed(seed)
    return CharWordFeatures(WordFeatures(encoder.word_vocab, embedding_size=2), chars, kind=kind,
                            embedding_size=E, hidden_size=H).to(dtype)


def test_encoder_lists_each_distinct_word_once():
    encoder = WordEncoder.build(SENTENCES, trigrams=False)
    chars = build_char_vocab(["ab"])
    batch = CharWordEncoder(encoder, chars).encode([["ab", "x", "ab"], ["x"]])
    assert batch.char_ids.shape == (2, 2) and batch.char_lengths.tolist() == [2, 1]
    assert batch.char_index.tolist() == [[0, 1], [1, 0], [0, 0]]  # padded slot (2, 1): row 0
    assert batch.char_ids[:, 0].tolist() == chars.encode("ab").tolist()
    assert batch.char_ids[0, 1] == chars.unk_index  # "x" was never seen: the unknown character


@pytest.mark.parametrize("kind", ["lstm", "cnn"])
def test_a_words_vector_depends_only_on_its_letters(kind):
    features = make(kind).eval()
    together = features.char_vectors(features.encode(SENTENCES))
    assert together.shape == (4, 3, features.char_size)
    assert features(features.encode(SENTENCES)).shape == (4, 3, 2 + features.char_size)
    for b, s in enumerate(SENTENCES):
        for t, w in enumerate(s):
            alone = features.char_vectors(features.encode([[w]]))[0, 0]
            assert torch.allclose(together[t, b], alone, atol=1e-6), (kind, w)


def test_cnn_equals_a_loop_over_positions():
    features = make("cnn", torch.float64)
    word = "pittsburgh"
    got = features.char_vectors(features.encode([[word]]))[0, 0]
    e = features.char_embedding(features.char_vocab.encode(word))  # (L, E)
    W, bias = features.char_encoder.weight, features.char_encoder.bias  # (H, E, 3), (H,)
    zero = torch.zeros_like(e[0])
    rows = []
    for k in range(len(word)):  # h_k = tanh(b + Σ_j W[:, :, j] e_{k+j-1}), zeros outside the word
        around = [e[k + j - 1] if 0 <= k + j - 1 < len(word) else zero for j in range(3)]
        rows.append(torch.tanh(bias + sum(W[:, :, j] @ around[j] for j in range(3))))
    assert torch.allclose(got, torch.stack(rows).max(0).values)


@pytest.mark.parametrize("kind", ["lstm", "cnn"])
def test_gradcheck_float64(kind):
    features = make(kind, torch.float64, E=3, H=2)
    batch = features.encode([["to", "a"], ["bost"]])
    names = ["char_embedding.weight"] + [n for n, _ in features.char_encoder.named_parameters(prefix="char_encoder")]
    params = {n: p.detach().clone().requires_grad_() for n, p in features.named_parameters() if n in names}

    def run(*values):
        return functional_call(features, dict(zip(params, values)), (batch,))
    assert torch.autograd.gradcheck(run, tuple(params.values()))


def test_a_batch_without_letters_is_refused():
    features = make("cnn")
    with pytest.raises(DataError, match="no letters"):
        features(features.inner.encode(SENTENCES))


def test_tagger_with_chars_and_window_rebuilds_from_its_config():
    encoder = WordEncoder.build(SENTENCES, trigrams=True)
    chars = build_char_vocab([w for s in SENTENCES for w in s])
    features = tagger_inputs(WordFeatures(encoder.word_vocab, encoder.trigram_vocab, trigrams=True, embedding_size=3,
                                          projection=2), char_vocab=chars, chars="lstm", char_embedding=3,
                             char_hidden=2, context=1)
    assert features.output_size == 3 * (3 + 2 + 4)
    model = Tagger.build(features, 3, hidden_size=4, bidirectional=True)
    config = model.config()
    again = Tagger.from_config(config, encoder.word_vocab, encoder.trigram_vocab, chars)
    assert again.config() == config
    again.load_state_dict(model.state_dict())
    batch = model.features.encode(SENTENCES)
    assert torch.equal(model.eval()(batch)[0], again.eval()(batch)[0])
    with pytest.raises(ConfigError, match="character vocabulary"):
        Tagger.from_config(config, encoder.word_vocab, encoder.trigram_vocab)
    with pytest.raises(ConfigError, match="entries"):
        inputs_from_config(config["features"], encoder.word_vocab, encoder.trigram_vocab, build_char_vocab(["xyz"]))
    # a config from before the wrappers existed is a plain WordFeatures
    plain = {k: v for k, v in config["features"].items() if k not in ("chars", "context")}
    assert type(inputs_from_config(plain, encoder.word_vocab, encoder.trigram_vocab)) is WordFeatures
