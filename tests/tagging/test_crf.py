"""The linear-chain CRF: gradcheck, log Z and Viterbi against brute-force enumeration, padding,
BIO constraints."""
import itertools

import pytest
import torch

from rnnlab.errors import DataError
from rnnlab.tagging.bio import bio_constraints
from rnnlab.tagging.crf import CRF


def random_crf(K, seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    crf = CRF(K).to(dtype)
    with torch.no_grad():
        for p in crf.parameters():
            p.normal_()
    return crf


def brute(crf, emissions, n):
    """(log Z, best path, best score) of one sentence (emissions (T, K), its first n steps) by enumeration."""
    A, s, e = (x.detach() for x in crf.scores())
    scores = {}
    for y in itertools.product(range(crf.num_tags), repeat=n):
        v = s[y[0]] + e[y[-1]] + sum(emissions[t, y[t]] for t in range(n))
        v = v + sum(A[y[t - 1], y[t]] for t in range(1, n))
        scores[y] = v
    values = torch.stack(list(scores.values()))
    best = max(scores, key=lambda y: float(scores[y]))
    return torch.logsumexp(values, 0), best, scores


@pytest.mark.parametrize("K", [1, 2, 3])
def test_log_partition_and_viterbi_equal_brute_force_padded_and_not(K):
    crf = random_crf(K, seed=K)
    T, B = 4, 4
    emissions = torch.randn(T, B, K, dtype=torch.float64)
    lengths = torch.tensor([4, 1, 3, 2])
    emissions[1:, 1] = float("nan")  # padding may hold garbage
    emissions[3:, 2] = 1e9
    logz = crf.log_partition(emissions, lengths)
    paths = crf.decode(emissions, lengths)
    for b in range(B):
        n = int(lengths[b])
        ref, best, scores = brute(crf, emissions[:, b], n)
        assert torch.allclose(logz[b], ref), (b, logz[b], ref)
        assert tuple(paths[:n, b].tolist()) == best
        # the likelihood of each path is exp(score − log Z): they sum to one
        tags = torch.zeros(T, B, dtype=torch.long)
        total = 0.0
        for y, v in scores.items():
            tags[:n, b] = torch.tensor(y)
            ll = crf.log_likelihood(emissions, tags, lengths)[b]
            assert torch.allclose(ll, v - ref)
            total += float(ll.detach().exp())
        assert total == pytest.approx(1.0)
    # unpadded: every sentence full length
    full = torch.randn(3, 2, K, dtype=torch.float64)
    logz = crf.log_partition(full, torch.tensor([3, 3]))
    for b in range(2):
        assert torch.allclose(logz[b], brute(crf, full[:, b], 3)[0])


def test_gradcheck_wrt_emissions_and_scores():
    crf = random_crf(3, seed=4)
    emissions = torch.randn(4, 3, 3, dtype=torch.float64, requires_grad=True)
    tags = torch.tensor([[0, 1, 2], [2, 1, 0], [1, 1, -100], [0, -100, -100]])
    lengths = torch.tensor([4, 2, 3])
    tags[2, 1] = -100  # padded gold: ignored
    tags[2, 2] = 1

    params = [p.detach().clone().requires_grad_(True) for p in (crf.transitions, crf.start, crf.end)]

    def functional(e, A, s, end):
        # swap the CRF's parameters for differentiable inputs
        saved = crf.transitions, crf.start, crf.end
        try:
            del crf.transitions, crf.start, crf.end
            crf.transitions, crf.start, crf.end = A, s, end
            return crf.log_likelihood(e, tags, lengths)
        finally:
            del crf.transitions, crf.start, crf.end
            crf.transitions, crf.start, crf.end = saved

    assert torch.autograd.gradcheck(functional, (emissions, *params))


def test_gradient_reaches_the_parameters_and_none_reaches_padding():
    crf = random_crf(3, seed=1, dtype=torch.float32)
    emissions = torch.randn(5, 2, 3, requires_grad=True)
    lengths = torch.tensor([5, 2])
    tags = torch.randint(0, 3, (5, 2))
    crf.log_likelihood(emissions, tags, lengths).sum().backward()
    assert emissions.grad[2:, 1].abs().sum() == 0 and emissions.grad[:2].abs().sum() > 0
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in crf.parameters())


def test_a_sentence_alone_equals_it_in_a_padded_batch():
    crf = random_crf(3, seed=2)
    emissions = torch.randn(6, 3, 3, dtype=torch.float64)
    lengths = torch.tensor([6, 3, 1])
    tags = torch.randint(0, 3, (6, 3))
    ll, paths = crf.log_likelihood(emissions, tags, lengths), crf.decode(emissions, lengths)
    for b in range(3):
        n = int(lengths[b])
        alone = emissions[:n, b:b + 1]
        assert torch.allclose(crf.log_likelihood(alone, tags[:n, b:b + 1], lengths[b:b + 1]), ll[b:b + 1])
        assert torch.equal(crf.decode(alone, lengths[b:b + 1])[:, 0], paths[:n, b])


def test_constrained_decoding_never_outputs_a_forbidden_transition():
    names = ["O", "B-a", "I-a", "B-b", "I-b"]
    start_ok, follows = bio_constraints(names)
    crf = random_crf(5, seed=3)
    crf.constrain(start_ok, follows)
    torch.manual_seed(0)
    emissions = torch.randn(7, 64, 5, dtype=torch.float64) * 3
    emissions[..., 2] += 2  # the I- tags are the most likely per word: the argmax would break BIO
    emissions[..., 4] += 2
    lengths = torch.randint(1, 8, (64,))
    paths = crf.decode(emissions, lengths)
    for b in range(64):
        y = paths[: int(lengths[b]), b].tolist()
        assert start_ok[y[0]]
        assert all(follows[i, j] for i, j in zip(y, y[1:])), [names[k] for k in y]
    # and it is the best valid path: brute force over the valid ones on a short sentence
    n = 4
    _, best, _ = brute(crf, emissions[:, 0], n)  # forbidden paths score NEVER, so the best is valid
    short = crf.decode(emissions[:n, :1], torch.tensor([n]))[:, 0].tolist()
    assert tuple(short) == best
    # constrained log Z counts only valid paths
    ref = torch.logsumexp(torch.stack([v for y, v in brute(crf, emissions[:, 0], 3)[2].items()
                                       if start_ok[y[0]] and all(follows[i, j] for i, j in zip(y, y[1:]))]), 0)
    assert torch.allclose(crf.log_partition(emissions[:3, :1], torch.tensor([3]))[0], ref)


def test_errors():
    crf = CRF(3)
    with pytest.raises(DataError, match="emissions must be"):
        crf.log_partition(torch.randn(2, 1, 4), torch.tensor([2]))
    with pytest.raises(DataError, match="outside"):
        crf.log_likelihood(torch.randn(2, 1, 3), torch.tensor([[0], [-100]]), torch.tensor([2]))
