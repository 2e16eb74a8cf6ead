"""Poolings: each equals a hand computation; padding (even NaN) never reaches the result; a sequence
pools the same alone as in a padded batch; gradients check in float64."""
import pytest
import torch

from rnnlab.errors import ConfigError, DataError
from rnnlab.layers.encoder import build_encoder
from rnnlab.layers.pooling import AttentionPooling, LastPooling, MeanPooling, make_pooling

T, B, W = 5, 3, 4
LENGTHS = torch.tensor([5, 2, 3])


def outputs(dtype=torch.float32, pad=float("nan")):
    torch.manual_seed(0)
    h = torch.randn(T, B, W, dtype=dtype)
    for b, n in enumerate(LENGTHS.tolist()):
        h[n:, b] = pad
    return h


def attention(dtype=torch.float32):
    torch.manual_seed(1)
    return AttentionPooling(W, 3).to(dtype)


def by_hand(kind, h, n, pool=None):
    """One sequence's pooled vector from its real steps h[:n] (n, W)."""
    h = h[:n]
    if kind == "last":
        return h[-1]
    if kind == "last-split":
        return torch.cat([h[-1, :2], h[0, 2:]])
    if kind == "mean":
        return h.sum(0) / n
    e = torch.stack([pool.score.weight[0] @ torch.tanh(pool.proj.weight @ h_t + pool.proj.bias) for h_t in h])
    alpha = torch.exp(e - e.max()) / torch.exp(e - e.max()).sum()
    return (alpha.unsqueeze(1) * h).sum(0)


POOLS = {"last": LastPooling, "last-split": lambda: LastPooling(split=2), "mean": MeanPooling, "attention": attention}


@pytest.mark.parametrize("kind", list(POOLS))
def test_each_pooling_equals_the_hand_computation_and_ignores_nan_padding(kind):
    pool, h = POOLS[kind](), outputs()
    pooled = pool(h, LENGTHS)
    assert pooled.shape == (B, W) and torch.isfinite(pooled).all()
    for b, n in enumerate(LENGTHS.tolist()):
        torch.testing.assert_close(pooled[b], by_hand(kind, h[:, b], n, pool))
        alone = pool(h[:n, b:b + 1], [n])  # a sequence alone, no padding at all
        torch.testing.assert_close(alone[0], pooled[b], rtol=0, atol=1e-6)
    torch.testing.assert_close(pool(outputs(pad=1e6), LENGTHS), pooled, rtol=0, atol=0)  # any padding value


@pytest.mark.parametrize("kind", list(POOLS))
def test_gradcheck_and_no_gradient_at_padded_steps(kind):
    pool = POOLS[kind]()
    pool = pool.double() if isinstance(pool, AttentionPooling) else pool
    h = outputs(torch.float64, pad=0.0).requires_grad_()
    assert torch.autograd.gradcheck(lambda x: pool(x, LENGTHS), (h,))
    pool(outputs(torch.float64).requires_grad_(), LENGTHS)  # NaN padding: still finite
    h.grad = None
    pool(h, LENGTHS).square().sum().backward()
    for b, n in enumerate(LENGTHS.tolist()):
        assert (h.grad[n:, b] == 0).all()


def test_attention_weights_are_exactly_zero_at_padding_and_sum_to_one():
    alpha = attention().weights(outputs(), LENGTHS)
    assert alpha.shape == (B, T)
    for b, n in enumerate(LENGTHS.tolist()):
        assert (alpha[b, n:] == 0).all() and (alpha[b, :n] > 0).all()
    torch.testing.assert_close(alpha.sum(1), torch.ones(B))


def test_make_pooling_reads_the_encoder():
    uni = build_encoder("gru", 3, 4)
    bi = build_encoder("gru", 3, 4, 2, bidirectional=True)
    assert make_pooling("last", uni).split is None and make_pooling("last", bi).split == 4
    assert isinstance(make_pooling("mean", bi), MeanPooling)
    att = make_pooling("attention", bi, attention_size=5)
    assert (att.proj.in_features, att.proj.out_features) == (8, 5)
    with pytest.raises(ConfigError, match="pool must be one of last, mean, attention"):
        make_pooling("nope", uni)
    with pytest.raises(DataError, match=r"every length must be in \[1, 5\]"):
        MeanPooling()(outputs(), [5, 0, 2])
