"""Word representations: 1-of-N with an unknown dimension, letter-trigram bags, embeddings."""
from collections import Counter

import pytest
import torch

from rnnlab.data.vocab import Vocabulary
from rnnlab.data.words import WordEncoder, letter_trigrams
from rnnlab.layers.word_features import WordFeatures
from rnnlab.errors import ConfigError, DataError

TRAIN = [["i", "like", "apple", "pie"], ["banana", "pie"], ["apple", "banana", "pie"]]


def test_letter_trigrams():
    assert letter_trigrams("apple") == ["#ap", "app", "ppl", "ple", "le#"]
    assert letter_trigrams("a") == ["#a#"]
    assert Counter(letter_trigrams("banana"))["ana"] == 2  # repeats count
    with pytest.raises(DataError, match="empty word"):
        letter_trigrams("")


def test_encoder_ids_lengths_and_bags():
    enc = WordEncoder.build(TRAIN)
    batch = enc.encode([["apple", "pie"], ["kiwi"]])
    assert batch.word_ids.shape == (2, 2) and batch.lengths.tolist() == [2, 1]
    v = enc.word_vocab
    assert batch.word_ids[:, 0].tolist() == [v.index("apple"), v.index("pie")]
    assert batch.word_ids[0, 1] == v.unk_index  # unseen word → the "other" id
    # bags in time-major slot order: (0,0) apple, (0,1) kiwi, (1,0) pie, (1,1) padding = empty
    offsets = batch.trigram_offsets.tolist() + [len(batch.trigram_ids)]
    bags = [batch.trigram_ids[offsets[i]:offsets[i + 1]].tolist() for i in range(4)]
    tv = enc.trigram_vocab
    assert bags[0] == tv.encode(letter_trigrams("apple")).tolist()
    assert bags[2] == tv.encode(letter_trigrams("pie")).tolist()
    assert bags[3] == []
    assert bags[1] == [tv.unk_index] * 4  # '#ki kiw iwi wi#' never seen in training


def test_one_hot_has_an_other_dimension_and_min_count_trains_it():
    enc = WordEncoder.build(TRAIN, min_count=2)  # words seen once ("i", "like") map to <unk>
    assert "like" not in enc.word_vocab and "apple" in enc.word_vocab
    feats = WordFeatures(enc.word_vocab, one_hot=True)
    x = feats(feats.encode([["like", "apple", "zebra"]]))[:, 0]  # (T, V)
    assert feats.output_size == len(enc.word_vocab) == x.shape[-1]
    assert torch.equal(x.sum(-1), torch.ones(3))
    unk = enc.word_vocab.unk_index
    assert x[0, unk] == 1 and x[2, unk] == 1 and x[1, enc.word_vocab.index("apple")] == 1


def test_unseen_word_shares_trigrams_with_seen_ones():
    enc = WordEncoder.build(TRAIN)
    feats = WordFeatures(enc.word_vocab, enc.trigram_vocab, trigrams=True)
    x = feats(feats.encode([["apples"], ["apple"]]))[0]  # (B, K) counts
    tv = enc.trigram_vocab
    # apples: #ap app ppl ple les es# — four known, two unknown trigrams
    assert x[0, tv.unk_index] == 2 and x[0].sum() == 6
    assert (x[0] * x[1]).sum() == 4  # overlap with apple
    assert x[1, tv.unk_index] == 0


def test_trigram_counts_are_exact():
    enc = WordEncoder.build(TRAIN)
    feats = WordFeatures(enc.word_vocab, enc.trigram_vocab, trigrams=True)
    sentences = [["banana", "pie", "apple"], ["bananas"]]
    counts = feats(feats.encode(sentences))  # (T, B, K)
    for b, s in enumerate(sentences):
        for t, w in enumerate(s):
            want = torch.zeros(len(enc.trigram_vocab))
            for g, c in Counter(enc.trigram_vocab.encode(letter_trigrams(w)).tolist()).items():
                want[g] = c
            assert torch.equal(counts[t, b], want)
    assert counts[1:, 1].abs().sum() == 0  # padding slots are empty bags


def test_projection_equals_dense_features_times_matrix():
    """A bag of trigrams (and a word id) looked up in W == [one_hot; counts] @ W."""
    torch.manual_seed(0)
    enc = WordEncoder.build(TRAIN)
    dense = WordFeatures(enc.word_vocab, enc.trigram_vocab, one_hot=True, trigrams=True, embedding_size=3)
    proj = WordFeatures(enc.word_vocab, enc.trigram_vocab, one_hot=True, trigrams=True, embedding_size=3,
                        projection=5).double()
    dense.double()
    proj.embedding.weight.data.copy_(dense.embedding.weight.data)
    batch = proj.encode([["banana", "pie", "apple", "pie"], ["bananas", "kiwi"], ["i"]])
    W = torch.cat([proj.word_proj.weight, proj.trigram_proj.weight])  # (V + K, P)
    d = dense(batch)  # (T, B, V + K + 3)
    sparse, emb = d[..., :-3], d[..., -3:]
    want = torch.cat([sparse @ W, emb], dim=-1)
    assert proj.output_size == 8 and dense.output_size == len(enc.word_vocab) + len(enc.trigram_vocab) + 3
    torch.testing.assert_close(proj(batch), want, rtol=0, atol=1e-12)


def test_combination_is_concatenation_in_order():
    torch.manual_seed(0)
    enc = WordEncoder.build(TRAIN)
    both = WordFeatures(enc.word_vocab, enc.trigram_vocab, one_hot=True, trigrams=True, embedding_size=4)
    batch = both.encode([["apple", "pie"]])
    V, K = len(enc.word_vocab), len(enc.trigram_vocab)
    x = both(batch)
    assert x.shape == (2, 1, V + K + 4)
    assert torch.equal(x[..., :V], WordFeatures(enc.word_vocab, one_hot=True)(batch))
    assert torch.equal(x[..., V:V + K], WordFeatures(enc.word_vocab, enc.trigram_vocab, trigrams=True)(batch))
    assert torch.equal(x[..., V + K:], both.embedding(batch.word_ids))
    assert both.double()(batch).dtype == torch.float64  # parameter-free parts follow the module's dtype


def test_configuration_errors():
    enc = WordEncoder.build(TRAIN)
    with pytest.raises(ConfigError, match="needs a trigram vocabulary"):
        WordFeatures(enc.word_vocab, trigrams=True)
    with pytest.raises(ConfigError, match="at least one of"):
        WordFeatures(enc.word_vocab)
    with pytest.raises(ConfigError, match="unknown token"):
        WordEncoder(Vocabulary(["a", "b"], unk=None))
    feats = WordFeatures(enc.word_vocab, enc.trigram_vocab, trigrams=True)
    no_bags = WordEncoder(enc.word_vocab).encode([["apple"]])
    with pytest.raises(DataError, match="the batch has none"):
        feats(no_bags)
    with pytest.raises(DataError, match="sentence 1 of the batch is empty"):
        feats.encode([["apple"], []])
    with pytest.raises(DataError, match="list of sentences"):
        feats.encode(["apple", "pie"])
