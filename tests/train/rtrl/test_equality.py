"""The float64 equality table: RTRL's gradient equals BPTT's for every parameter (≤ 1e-10
relative), cell × layers (1, 2) × padding, one test per row; also the outputs, and the
hand-derived Jacobians against torch.func's."""
import pytest
import torch

from rnnlab.train.rtrl import hand_derived, step_jacobian
from rnnlab.train.rtrl.generic import flatten_state
from tests.train.rtrl.helpers import LENGTHS, bptt_grads, max_rel, problem, rtrl_grads

HAND = ["elman", "elman-relu", "elman-sigmoid", "lstm", "lstm-peephole", "lstm-forget1", "gru", "gru-cho",
        "elementwise-lstm"]
GENERIC = ["lstm-layernorm", "gru-layernorm", "leaky", "clockwork", "jordan", "elementwise", "leaky-elementwise"]
ROWS = [(c, layers, pad) for c in HAND + GENERIC for layers in (1, 2) for pad in (False, True)]


@pytest.mark.parametrize("cell,layers,padded", ROWS, ids=[f"{c}-{n}layer-{'pad' if p else 'full'}" for c, n, p in ROWS])
def test_rtrl_equals_bptt(cell, layers, padded):
    enc, x, s0, W = problem(cell, layers)
    lengths = LENGTHS if padded else None
    y_ref, ref = bptt_grads(enc, x, s0, W, lengths)
    y, got, _ = rtrl_grads(enc, x, s0, W, lengths)
    assert torch.allclose(y, y_ref, rtol=0, atol=1e-12)
    assert max_rel(got, ref) <= 1e-10


@pytest.mark.parametrize("cell", HAND)
def test_hand_kernels_are_used_and_match_torch_func(cell):
    """Same D, X, M̄ and new state from the hand-derived kernel and from torch.func."""
    enc, x, s0, _ = problem(cell, 1)
    c = enc.layers[0].cell
    assert hand_derived(c)
    a, b = step_jacobian(c, x[0], s0[0]), step_jacobian(c, x[0], s0[0], generic=True)
    S = a.D.shape[2]
    assert torch.allclose(a.D, b.D[:, :S], atol=1e-13)
    assert torch.allclose(a.X, b.X[:, :S], atol=1e-13)
    Ma = torch.cat([blk.dense() for blk in a.blocks], 2)
    Mb = torch.cat([blk.dense() for blk in b.blocks], 2)
    assert torch.allclose(Ma, Mb[:, :S], atol=1e-13)
    assert torch.equal(flatten_state(a.state), flatten_state(b.state))
