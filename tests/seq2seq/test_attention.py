import torch

from rnnlab.seq2seq import AdditiveAttention
from tests.helpers import gradcheck_module


def _inputs(S=5, B=3, Q=4, M=6, dtype=torch.float64):
    torch.manual_seed(0)
    query, memory = torch.randn(B, Q, dtype=dtype), torch.randn(S, B, M, dtype=dtype)
    lengths = torch.tensor([5, 2, 3])
    mask = torch.arange(S).unsqueeze(1) < lengths  # (S, B)
    return query, memory, mask


def test_gradcheck_float64_with_mask():
    query, memory, mask = _inputs()
    assert gradcheck_module(AdditiveAttention(4, 6, 3), query, memory, mask)


def test_matches_the_formula():
    query, memory, mask = _inputs()
    att = AdditiveAttention(4, 6, 3).double()
    context, weights = att(query, memory, mask)
    W, U, b, v = att.query_proj.weight, att.key_proj.weight, att.key_proj.bias, att.score.weight[0]
    for i in range(3):
        L = int(mask[:, i].sum())
        e = torch.stack([v @ torch.tanh(W @ query[i] + U @ memory[j, i] + b) for j in range(L)])
        alpha = torch.softmax(e, 0)
        torch.testing.assert_close(weights[i, :L], alpha)
        torch.testing.assert_close(context[i], (alpha.unsqueeze(1) * memory[:L, i]).sum(0))


def test_padded_positions_get_zero_weight_and_zero_gradient():
    query, memory, mask = _inputs()
    memory.requires_grad_()
    att = AdditiveAttention(4, 6, 3).double()
    context, weights = att(query, memory, mask)
    assert (weights[~mask.T] == 0).all()
    torch.testing.assert_close(weights.sum(1), torch.ones(3, dtype=torch.float64))
    (context * torch.randn_like(context)).sum().backward()
    assert (memory.grad[~mask] == 0).all()
    assert (memory.grad[mask].abs().sum(-1) > 0).all()


def test_precomputed_keys_give_the_same_result():
    query, memory, mask = _inputs()
    att = AdditiveAttention(4, 6, 3).double()
    a = att(query, memory, mask)
    b = att(query, memory, mask, keys=att.keys(memory))
    torch.testing.assert_close(a, b)
