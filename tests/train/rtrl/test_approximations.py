"""SnAp-n, UORO and exact element-wise RTRL against exact RTRL (float64)."""
import pytest
import torch

from rnnlab.errors import ConfigError
from rnnlab.layers.encoder import build_encoder
from rnnlab.train.rtrl import RTRL
from rnnlab.train.rtrl.generic import flatten_state
from rnnlab.train.rtrl.snap import snap_pattern
from tests.train.rtrl.helpers import LENGTHS, max_rel, problem, rtrl_grads


@pytest.mark.parametrize("cell", ["elman", "gru", "gru-cho", "lstm-peephole", "leaky"])
def test_snap2_with_a_dense_pattern_equals_exact_rtrl(cell):
    """One dense layer: two steps of the recursion reach every entry, so SnAp-2 keeps all of J
    (through the sparse code path) and must equal the dense exact recursion."""
    enc, x, s0, W = problem(cell, 1)
    _, exact, _ = rtrl_grads(enc, x, s0, W, LENGTHS)
    _, snap, eng = rtrl_grads(enc, x, s0, W, LENGTHS, "snap2")
    assert max_rel(snap, exact) <= 1e-10
    layout = eng.influences[0].layout
    S = flatten_state(s0[0]).shape[1]
    assert all(int((rows < S).sum()) == S * ys.unique().numel() for rows, ys, *_ in layout)  # dense


def test_snap_pattern_grows_with_n():
    D = torch.tensor([[True, True, False], [False, True, True], [False, False, True]])
    M = torch.eye(3, dtype=torch.bool)
    assert snap_pattern(D, M, 1).equal(M)
    assert snap_pattern(D, M, 2).equal(M | D)


@pytest.mark.parametrize("cell", ["elementwise", "leaky-elementwise"])
def test_snap1_equals_exact_rtrl_for_a_diagonal_cell(cell):
    enc, x, s0, W = problem(cell, 1)
    _, exact, _ = rtrl_grads(enc, x, s0, W, LENGTHS)
    _, snap, eng = rtrl_grads(enc, x, s0, W, LENGTHS, "snap1")
    assert max_rel(snap, exact) <= 1e-10
    _, diag, eng = rtrl_grads(enc, x, s0, W, LENGTHS, "diag")
    assert max_rel(diag, exact) <= 1e-10
    P = sum(p.numel() for p in enc.parameters())
    stored = sum(v[0].numel() for v in eng.influence[0])  # one batch row: O(P), not O(H·P)
    assert stored <= 2 * P


@pytest.mark.parametrize("padded", [False, True])
def test_element_wise_lstm_exact_cheap_rtrl(padded):
    """Irie et al.'s element-wise LSTM: `diag` (the unit's closed pattern, hand-derived step) equals
    dense exact RTRL for every parameter, storing ≤ 2 numbers per parameter (h_k, c_k); SnAp-1
    equals it on the i, f, g gates' parameters and differs on the output gate's (whose immediate
    pattern misses c_k, reached one step later through ∂c_t,k/∂h_{t−1,k})."""
    enc, x, s0, W = problem("elementwise-lstm", 1, hidden=4)
    lengths = LENGTHS if padded else None
    _, exact, _ = rtrl_grads(enc, x, s0, W, lengths)
    _, diag, eng = rtrl_grads(enc, x, s0, W, lengths, "diag")
    assert max_rel(diag, exact) <= 1e-10
    P = sum(p.numel() for p in enc.parameters())
    assert sum(v[0].numel() for v in eng.influence[0]) <= 2 * P  # one stream: O(P), not O(2H·P)
    _, snap, _ = rtrl_grads(enc, x, s0, W, lengths, "snap1")
    H = 4
    ifg = [g[:3 * H] for g in snap], [g[:3 * H] for g in exact]
    assert max_rel(*ifg) <= 1e-10
    assert max_rel([g[3 * H:] for g in snap], [g[3 * H:] for g in exact]) > 1e-4


def test_diag_refuses_two_element_wise_lstm_layers():
    with pytest.raises(ConfigError, match="one layer"):
        RTRL(build_encoder("elementwise-lstm", 2, 3, 2), "diag")


def test_snap1_is_an_approximation_for_a_dense_cell_and_diag_refuses_it():
    enc, x, s0, W = problem("elman", 1)
    _, exact, _ = rtrl_grads(enc, x, s0, W, LENGTHS)
    _, snap, _ = rtrl_grads(enc, x, s0, W, LENGTHS, "snap1")
    assert max_rel(snap, exact) > 1e-3
    with pytest.raises(ConfigError, match="closed"):
        rtrl_grads(enc, x, s0, W, LENGTHS, "diag")


def test_uoro_is_unbiased():
    """The mean of UORO's gradient over N = 20000 independent noise streams (one per batch row,
    all reading the same sequence) approaches exact RTRL's: relative error ≤ 0.1 with seed 0
    (the noise of a mean of N estimates shrinks as 1/√N; a biased estimator would not)."""
    torch.manual_seed(0)
    enc = build_encoder("elman", 2, 3, 1).double()
    N, T = 20000, 4
    x = torch.randn(T, 1, 2, dtype=torch.float64).expand(T, N, 2)
    W = torch.randn(T, 1, 3, dtype=torch.float64).expand(T, N, 3)
    _, exact, _ = rtrl_grads(enc, x[:, :1], None, W[:, :1], None)
    gen = torch.Generator().manual_seed(0)
    _, uoro, _ = rtrl_grads(enc, x, None, W, None, "uoro", generator=gen)
    mean = [g / N for g in uoro]
    flat_u, flat_e = torch.cat([g.flatten() for g in mean]), torch.cat([g.flatten() for g in exact])
    assert float((flat_u - flat_e).norm() / flat_e.norm()) <= 0.1
    # one stream alone is far off: the average is what converges
    _, one, _ = rtrl_grads(enc, x[:, :1], None, W[:, :1], None, "uoro", generator=torch.Generator().manual_seed(1))
    assert float((torch.cat([g.flatten() for g in one]) - flat_e).norm() / flat_e.norm()) > 0.1


def test_approximations_run_on_two_layers_and_credit_the_lower_layer():
    enc, x, s0, W = problem("lstm", 2)
    for method in ("snap1", "snap2", "uoro"):
        _, grads, _ = rtrl_grads(enc, x, s0, W, LENGTHS, method, generator=torch.Generator().manual_seed(0))
        assert all(torch.isfinite(g).all() for g in grads)
        assert grads[0].abs().sum() > 0  # layer 0's weight_ih gets credit from the layer above


def test_refusals():
    with pytest.raises(ConfigError, match="future"):
        RTRL(build_encoder("elman", 2, 3, 1, bidirectional=True))
    with pytest.raises(ConfigError, match="dropout"):
        RTRL(build_encoder("elman", 2, 3, 2, dropout=0.5))
    with pytest.raises(ConfigError, match="one layer"):
        RTRL(build_encoder("elementwise", 2, 3, 2), "diag")
    with pytest.raises(ConfigError, match="unknown RTRL method"):
        RTRL(build_encoder("elman", 2, 3, 1), "bogus")
