"""The end-to-end memory network: gradcheck in float64, the forward pass against a naive reference
written from the paper's equations (adjacent tying spelled out), position and temporal encoding,
padding, linear start, and the QA trainer task."""
from __future__ import annotations

import torch

from rnnlab.datasets.babi import qa_stories
from rnnlab.memory.memn2n import MemN2N, position_encoding
from rnnlab.memory.qa_task import QATask, build_vocab, encode
from tests.helpers import gradcheck_module

V, D, K, S = 11, 4, 2, 5


def model(**kw) -> MemN2N:
    torch.manual_seed(0)
    return MemN2N(V, D, K, S, **kw)


def batch():
    g = torch.Generator().manual_seed(1)
    story = torch.randint(1, V, (2, 3, 4), generator=g)
    story[0, 1, 2:] = 0      # a short sentence
    story[1, 2] = 0          # a story of 2 sentences
    question = torch.randint(1, V, (2, 3), generator=g)
    return story, question


def reference(m: MemN2N, story, question):
    """Eq. 1–3 and the answer, one example and one hop at a time, with A^k, B, C^k, W named."""
    out = []
    E = [e.weight for e in m.embeddings]
    A = [E[k] for k in range(K)]          # A^{k+1} = E_k
    C = [E[k + 1] for k in range(K)]      # C^{k+1} = E_{k+1} (so A^{k+1} = C^k)
    B, W = E[0], E[K].T

    def sentence(ids, emb):
        words = [int(i) for i in ids if i != 0]
        J = len(words)
        total = torch.zeros(D, dtype=emb.dtype)
        for j, w in enumerate(words, start=1):
            l = torch.tensor([(1 - j / J) - (k / D) * (1 - 2 * j / J) for k in range(1, D + 1)], dtype=emb.dtype)
            total = total + l * emb[w]
        return total

    for b in range(story.shape[0]):
        sentences = [s for s in story[b] if (s != 0).any()]
        n = len(sentences)
        u = sentence(question[b], B)
        for k in range(K):
            m_i = torch.stack([sentence(s, A[k]) + m.times[k][n - 1 - i] for i, s in enumerate(sentences)])
            c_i = torch.stack([sentence(s, C[k]) + m.times[k + 1][n - 1 - i] for i, s in enumerate(sentences)])
            p = torch.softmax(m_i @ u, 0)
            u = u + p @ c_i
        out.append(u @ W)
    return torch.stack(out)


def test_forward_matches_the_equations():
    m = model().double()
    story, question = batch()
    torch.testing.assert_close(m(story, question), reference(m, story, question))


def test_gradcheck():
    m = model()
    story, question = batch()
    # gradcheck_module differentiates the parameters; the ids are integer inputs
    assert gradcheck_module(m, story, question)


def test_position_encoding_formula_and_padding():
    l = position_encoding(torch.tensor([3]), 5, 4)[0]
    for j in range(1, 6):
        for k in range(1, 5):
            expected = ((1 - j / 3) - (k / 4) * (1 - 2 * j / 3)) if j <= 3 else 0.0
            assert abs(float(l[j - 1, k - 1]) - expected) < 1e-6


def test_word_order_matters_only_with_position_encoding():
    story, question = batch()
    swapped = story.clone()
    swapped[1, 0, [0, 1]] = story[1, 0, [1, 0]]
    bag = model(position=False)
    torch.testing.assert_close(bag(story, question), bag(swapped, question))
    pe = model()
    assert not torch.allclose(pe(story, question), pe(swapped, question))


def test_empty_padding_rows_change_nothing_and_the_latest_sentence_is_time_zero():
    m = model()
    story, question = batch()
    padded = torch.cat([story, torch.zeros(2, 2, 4, dtype=torch.long)], dim=1)
    torch.testing.assert_close(m(story, question), m(padded, question))
    _, attn = m(padded, question, attention=True)
    assert (attn[:, :, 3:] == 0).all() and (attn[1, :, 2] == 0).all()
    torch.testing.assert_close(attn[0].sum(-1), torch.ones(K))


def test_linear_start_removes_the_softmax():
    m = model()
    story, question = batch()
    m.set_linear(True)
    _, attn = m(story, question, attention=True)
    assert not torch.allclose(attn[0].sum(-1), torch.ones(K))
    assert "linear" in m.state_dict()  # a saved model remembers its mode


def test_qa_task_switches_linear_start_by_epoch_and_scores_per_task():
    splits = {"train": qa_stories("single-fact", 40, 0) + qa_stories("yes-no", 40, 0),
              "valid": qa_stories("single-fact", 10, 1) + qa_stories("yes-no", 10, 1)}
    vocab = build_vocab(splits["train"])
    m = MemN2N(len(vocab), 8, 2, 20)
    task = QATask(splits, vocab, batch_size=16, linear_epochs=2)
    task.train_step(m, 1, 0, None).loss.backward()
    assert bool(m.linear)
    task.train_step(m, 3, 0, None)
    assert not bool(m.linear)
    metrics = task.evaluate(m, "valid")
    assert set(metrics) == {"loss", "accuracy", "error", "accuracy/single-fact", "accuracy/yes-no"}
    story, question, answer = encode(splits["valid"][:3], vocab)
    assert story.shape[0] == 3 and answer.tolist() == [vocab.index(ex.answer) for ex in splits["valid"][:3]]
