import functools
import math

import pytest
import torch

from rnnlab.errors import ConfigError, DataError
from rnnlab.seq2seq import Seq2Seq, Seq2SeqTask, beam_search, build_vocabularies, greedy_decode, length_factor
from rnnlab.seq2seq.model import pad_batch
from rnnlab.datasets.transduction import transduction_data

EOS = 2


def _model(attention: bool, eos_bias: float = 0.0, seed: int = 0):
    """A fresh model; `eos_bias` shifts the <eos> logit."""
    torch.manual_seed(seed)
    m = Seq2Seq.build(10, 8, cell="gru", hidden_size=12, embedding_size=6, attention=attention, bidirectional=attention)
    with torch.no_grad():
        m.decoder.output.bias[EOS] += eos_bias
    return m


@functools.lru_cache
def _trained(attention: bool):
    """A half-trained reverser (about a second): unlike a fresh model it emits outputs of varied
    lengths, right and wrong, so decoding meets every case."""
    data = transduction_data("reverse", 1200, 0, 0, seed=0, min_len=1, max_len=8)
    sv, tv = build_vocabularies(data["train"])
    torch.manual_seed(0)
    model = Seq2Seq.build(len(sv), len(tv), cell="gru", hidden_size=16, embedding_size=8, attention=attention)
    task = Seq2SeqTask({"train": data["train"]}, sv, tv, batch_size=20)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for i in range(task.num_batches()):
        opt.zero_grad()
        task.train_step(model, 1, i, None).loss.backward()
        opt.step()
    return model, [sv.encode(s) for s, _ in data["train"][:16]]


@pytest.mark.parametrize("attention", [False, True])
def test_beam_of_width_one_is_greedy(attention):
    model, sources = _trained(attention)
    lengths = set()
    for src in sources:
        (g,) = greedy_decode(model, src.view(-1, 1), max_len=5)
        (b,) = beam_search(model, src, beam_size=1, max_len=5)
        assert b.tokens == g.tokens and b.finished == g.finished
        assert b.log_prob == g.log_prob == b.score
        if attention:
            torch.testing.assert_close(b.attention, g.attention, rtol=0, atol=0)
        lengths.add(len(g.tokens) if g.finished else -1)
    assert -1 in lengths and len(lengths) >= 4  # cut off at max_len, and several finished lengths


def test_greedy_batch_equals_one_by_one():
    model, sources = _trained(True)
    src, lengths = pad_batch(sources, 0)
    batch = greedy_decode(model, src, lengths, max_len=9)
    for s, h in zip(sources, batch):
        (alone,) = greedy_decode(model, s.view(-1, 1), max_len=9)
        assert h.tokens == alone.tokens and h.finished == alone.finished
        assert h.log_prob == pytest.approx(alone.log_prob, abs=1e-5)
        assert h.attention.shape == (len(h.tokens) + h.finished, len(s))
        torch.testing.assert_close(h.attention.sum(1), torch.ones(len(h.attention)))


@pytest.mark.parametrize("attention", [False, True])
def test_beam_returns_n_best_sorted(attention):
    model, sources = _trained(attention)
    for src in sources[:4]:
        hyps = beam_search(model, src, beam_size=4, max_len=12, length_penalty=0.6)
        assert len(hyps) == 4 and all(h.finished for h in hyps)
        scores = [h.score for h in hyps]
        assert scores == sorted(scores, reverse=True)
        assert len({tuple(h.tokens) for h in hyps}) == 4
        for h in hyps:
            assert h.score == pytest.approx(h.log_prob / ((5 + len(h.tokens) + 1) / 6) ** 0.6)
            if attention:
                assert h.attention.shape == (len(h.tokens) + 1, len(src))
        # a beam of one without length normalisation is greedy decoding (a wider beam need not
        # beat greedy: beam search is not monotone in its width, and this model shows it)
        (g,) = greedy_decode(model, src.view(-1, 1), max_len=12)
        (b,) = beam_search(model, src, beam_size=1, max_len=12, length_penalty=0.0)
        assert b.tokens == g.tokens and b.log_prob == pytest.approx(g.log_prob, abs=1e-5)


def _markov_model():
    """A model whose next-token distribution depends only on the previous token, set by hand:
    after <bos>: a .5, b .4, <eos> .1; after a: c .34, d .33, <eos> .33; after b, c, d: <eos>.
    Greedy says "a c" (p = .17); the best sequence is "b" (p = .4)."""
    V, bos, a, b, c, d = 7, 1, 3, 4, 5, 6
    table = torch.full((V, V), 1e-6)
    table[bos, [a, b, EOS]] = torch.tensor([0.5, 0.4, 0.1])
    table[a, [c, d, EOS]] = torch.tensor([0.34, 0.33, 0.33])
    table[[b, c, d], EOS] = 1.0
    m = Seq2Seq.build(5, V, cell="elman", hidden_size=V, embedding_size=V)
    with torch.no_grad():
        dec, cell = m.decoder, m.decoder.cells[0]
        dec.embedding.weight.copy_(3 * torch.eye(V))       # x = 3·onehot(prev)
        cell.weight_ih.copy_(torch.eye(V))
        cell.weight_hh.zero_(), cell.bias_ih.zero_(), cell.bias_hh.zero_()  # h = tanh(3)·onehot(prev)
        dec.output.weight.copy_(table.log().T / math.tanh(3))              # logits = log table[prev]
        dec.output.bias.zero_()
    return m


def test_beam_finds_a_better_sequence_than_greedy():
    model, src = _markov_model(), torch.tensor([3, 4])
    (g,) = greedy_decode(model, src.view(-1, 1), max_len=5)
    assert g.tokens == [3, 5] and g.log_prob == pytest.approx(math.log(0.17), abs=1e-4)
    best = beam_search(model, src, beam_size=2, max_len=5)
    assert best[0].tokens == [4] and best[0].log_prob == pytest.approx(math.log(0.4), abs=1e-4)
    assert best[0].score > g.log_prob
    assert best[1].tokens == [3, 5]  # greedy's answer is the runner-up
    assert beam_search(model, src, beam_size=1, max_len=5)[0].tokens == g.tokens


def test_max_len_fills_with_unfinished_prefixes():
    model = _model(False, eos_bias=-100.0)
    hyps = beam_search(model, torch.tensor([3, 4, 5]), beam_size=3, max_len=4)
    assert len(hyps) == 3 and not any(h.finished for h in hyps)
    assert all(len(h.tokens) == 4 for h in hyps)
    assert [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)
    (g,) = greedy_decode(model, torch.tensor([[3], [4], [5]]), max_len=4)
    assert not g.finished and len(g.tokens) == 4


def test_length_factor():
    assert length_factor(7, 0.0) == 1.0
    assert length_factor(7, 1.0) == 2.0               # (5 + 7) / 6
    assert length_factor(7, 0.5, "power") == pytest.approx(math.sqrt(7))


def test_bad_arguments():
    model, src = _model(False), torch.tensor([3, 4])
    with pytest.raises(ConfigError, match="beam_size"):
        beam_search(model, src, beam_size=0)
    with pytest.raises(ConfigError, match="length_norm"):
        beam_search(model, src, length_norm="cubic")
    with pytest.raises(ConfigError, match="length_penalty"):
        beam_search(model, src, length_penalty=-1)
    with pytest.raises(DataError, match="one source"):
        beam_search(model, src.view(-1, 1))
    with pytest.raises(ConfigError, match="max_len"):
        greedy_decode(model, src.view(-1, 1), max_len=0)
