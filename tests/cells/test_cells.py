"""Every cell and wrapper: gradcheck in float64, equations checked against hand computation,
and equality with torch.nn's cells after copying weights."""
import pytest
import torch
from torch import nn

import rnnlab
from rnnlab import (
    ClockworkCell, DeepOutput, DeepTransition, ElmanCell, GRUCell, JordanCell, LeakyCell, LSTMCell,
    Recurrent, RecurrentDropout, ResidualCell, SkipCell, Zoneout,
)
from tests.helpers import gradcheck_module

D, H, B, T = 3, 4, 2, 4

CELLS = {
    "elman-tanh": lambda: ElmanCell(D, H),
    "elman-relu": lambda: ElmanCell(D, H, activation="relu"),
    "elman-sigmoid": lambda: ElmanCell(D, H, activation="sigmoid"),
    "elman-identity": lambda: ElmanCell(D, H, activation="identity", bias=False),
    "jordan": lambda: JordanCell(D, H, 2, output_activation="tanh"),
    "jordan-softmax": lambda: JordanCell(D, H, 3, output_activation="softmax"),
    "lstm": lambda: LSTMCell(D, H),
    "lstm-peephole": lambda: LSTMCell(D, H, peephole=True),
    "lstm-identity": lambda: LSTMCell(D, H, candidate_activation="identity", state_activation="identity"),
    "lstm-layernorm": lambda: LSTMCell(D, H, layer_norm=True),
    "lstm-all": lambda: LSTMCell(D, H, peephole=True, layer_norm=True, state_activation="sigmoid", proj_size=2),
    "lstm-nobias-forget": lambda: LSTMCell(D, H, bias=False, forget_bias=1.0),
    "gru": lambda: GRUCell(D, H),
    "gru-reset-before": lambda: GRUCell(D, H, reset_after=False),
    "gru-layernorm": lambda: GRUCell(D, H, layer_norm=True),
    "gru-reset-before-layernorm": lambda: GRUCell(D, H, reset_after=False, layer_norm=True),
    "leaky": lambda: LeakyCell(ElmanCell(D, H), alpha=[0.1, 0.5, 0.9, 0.99]),
    "leaky-learned-lstm": lambda: LeakyCell(LSTMCell(D, H), alpha=0.7, learn_alpha=True),
    "residual": lambda: ResidualCell(GRUCell(D, H)),
    "skip": lambda: SkipCell(ElmanCell(D, H), delay=2),
    "clockwork": lambda: ClockworkCell(ElmanCell(D, H), periods=(1, 2)),
    "zoneout-eval": lambda: Zoneout(LSTMCell(D, H), p=0.3).eval(),
    "zoneout-train": lambda: Zoneout(LSTMCell(D, H), p=0.3),
    "recurrent-dropout": lambda: RecurrentDropout(GRUCell(D, H), p=0.3),
    "deep-transition": lambda: DeepTransition(ElmanCell(D, H), depth=2),
    "deep-output": lambda: DeepOutput(LSTMCell(D, H), [5, 2]),
}


@pytest.mark.parametrize("name", sorted(CELLS))
def test_gradcheck_step(name):
    torch.manual_seed(0)
    cell = CELLS[name]().double()
    state = rnnlab.cells.state_map(lambda s: s + 0.3 * torch.randn_like(s), cell.init_state(B))
    assert gradcheck_module(cell, torch.randn(B, D), state, seed=1)


@pytest.mark.parametrize("name", sorted(CELLS))
def test_gradcheck_sequence_with_lengths(name):
    torch.manual_seed(0)
    layer = Recurrent(CELLS[name](), fused=False).double()
    assert gradcheck_module(layer, torch.randn(T, 3, D), lengths=torch.tensor([T, 2, 1]), seed=1)


def _copy_from(torch_cell, ours):
    with torch.no_grad():
        for name, p in torch_cell.named_parameters():
            getattr(ours, name).copy_(p)
    return ours


@pytest.mark.parametrize(
    "torch_cell, ours",
    [
        (lambda: nn.RNNCell(D, H), lambda: ElmanCell(D, H)),
        (lambda: nn.RNNCell(D, H, nonlinearity="relu"), lambda: ElmanCell(D, H, activation="relu")),
        (lambda: nn.RNNCell(D, H, bias=False), lambda: ElmanCell(D, H, bias=False)),
        (lambda: nn.LSTMCell(D, H), lambda: LSTMCell(D, H)),
        (lambda: nn.LSTMCell(D, H, bias=False), lambda: LSTMCell(D, H, bias=False)),
        (lambda: nn.GRUCell(D, H), lambda: GRUCell(D, H)),
    ],
)
@pytest.mark.parametrize("dtype, atol", [(torch.float32, 1e-6), (torch.float64, 1e-12)])
def test_equals_torch_cell(torch_cell, ours, dtype, atol):
    torch.manual_seed(0)
    ref = torch_cell().to(dtype)
    cell = _copy_from(ref, ours().to(dtype))
    assert rnnlab.from_torch(ref).state_dict().keys() == cell.state_dict().keys()
    x = torch.randn(B, D, dtype=dtype, requires_grad=True)
    state = rnnlab.cells.state_map(lambda s: torch.randn_like(s).requires_grad_(), cell.init_state(B))
    out, new = cell(x, state)
    ref_new = ref(x, state)
    ref_out = ref_new[0] if isinstance(ref_new, tuple) else ref_new
    torch.testing.assert_close(out, ref_out, atol=atol, rtol=0)
    leaves = rnnlab.cells._state.leaves
    for a, b in zip(leaves(new), leaves(ref_new)):
        torch.testing.assert_close(a, b, atol=atol, rtol=0)
    upstream = [torch.randn_like(t) for t in leaves(new)]
    wrt = [x, *leaves(state), *cell.parameters()]
    g1 = torch.autograd.grad(leaves(new), wrt, upstream)
    g2 = torch.autograd.grad(leaves(ref_new), [x, *leaves(state), *ref.parameters()], upstream)
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, atol=atol * 10, rtol=0)


def test_lstm_peephole_and_activations_by_hand():
    torch.manual_seed(0)
    cell = LSTMCell(D, H, peephole=True, candidate_activation="identity", state_activation="sigmoid").double()
    x, h, c = torch.randn(B, D).double(), torch.randn(B, H).double(), torch.randn(B, H).double()
    pre = x @ cell.weight_ih.T + h @ cell.weight_hh.T + cell.bias_ih + cell.bias_hh
    i = torch.sigmoid(pre[:, :H] + cell.weight_ci * c)
    f = torch.sigmoid(pre[:, H : 2 * H] + cell.weight_cf * c)
    g = pre[:, 2 * H : 3 * H]
    c_new = f * c + i * g
    o = torch.sigmoid(pre[:, 3 * H :] + cell.weight_co * c_new)  # o peeks at the *new* cell state
    out, (h_new, c2) = cell(x, (h, c))
    torch.testing.assert_close(c2, c_new)
    torch.testing.assert_close(out, o * torch.sigmoid(c_new))


def test_lstm_forget_bias_sets_the_gate_bias_sum():
    cell = LSTMCell(D, H, forget_bias=1.0)
    torch.testing.assert_close((cell.bias_ih + cell.bias_hh)[H : 2 * H], torch.ones(H))


def test_gru_reset_before_by_hand():
    torch.manual_seed(0)
    cell = GRUCell(D, H, reset_after=False).double()
    x, h = torch.randn(B, D).double(), torch.randn(B, H).double()
    Wr, Wz, Wn = cell.weight_ih.chunk(3)
    Ur, Uz, Un = cell.weight_hh.chunk(3)
    bir, biz, bin_ = cell.bias_ih.chunk(3)
    bhr, bhz, bhn = cell.bias_hh.chunk(3)
    r = torch.sigmoid(x @ Wr.T + bir + h @ Ur.T + bhr)
    z = torch.sigmoid(x @ Wz.T + biz + h @ Uz.T + bhz)
    n = torch.tanh(x @ Wn.T + bin_ + (r * h) @ Un.T + bhn)  # reset applied before the matmul
    out, _ = cell(x, h)
    torch.testing.assert_close(out, (1 - z) * n + z * h)
    # and it differs from the reset-after variant with the same weights
    after = GRUCell(D, H).double()
    after.load_state_dict(cell.state_dict())
    assert not torch.allclose(after(x, h)[0], out)


def test_leaky_integrates_with_per_unit_alpha():
    torch.manual_seed(0)
    inner = ElmanCell(D, H).double()
    cell = LeakyCell(inner, alpha=[0.1, 0.5, 0.9, 0.99]).double()
    x, h = torch.randn(B, D).double(), torch.randn(B, H).double()
    v, _ = inner(x, h)
    out, _ = cell(x, h)
    a = torch.tensor([0.1, 0.5, 0.9, 0.99]).double()
    torch.testing.assert_close(out, a * h + (1 - a) * v)


def test_residual_adds_previous_state():
    torch.manual_seed(0)
    inner = GRUCell(D, H)
    x, h = torch.randn(B, D), torch.randn(B, H)
    out, _ = ResidualCell(inner)(x, h)
    torch.testing.assert_close(out, h + inner(x, h)[0])


def test_skip_cell_reads_state_from_d_steps_back():
    torch.manual_seed(0)
    inner = ElmanCell(D, H)
    xs = torch.randn(6, 1, D)
    ys, _ = Recurrent(SkipCell(inner, delay=3))(xs)
    # the sequence splits into 3 independent chains: t = 0, 3 | 1, 4 | 2, 5
    for start in range(3):
        chain, _ = Recurrent(inner)(xs[start::3])
        torch.testing.assert_close(ys[start::3], chain)


def test_clockwork_updates_slow_units_only_on_their_period():
    torch.manual_seed(0)
    cell = ClockworkCell(ElmanCell(D, H), periods=(1, 2))
    ys, (_, step) = Recurrent(cell)(torch.randn(5, B, D))
    slow = ys[:, :, H // 2 :]
    torch.testing.assert_close(slow[1], slow[0])  # t = 1: slow units hold
    torch.testing.assert_close(slow[3], slow[2])
    assert not torch.allclose(slow[2], slow[1])  # t = 2: they update
    assert not torch.allclose(ys[1, :, : H // 2], ys[0, :, : H // 2])  # fast units always update
    assert step.tolist() == [[5]] * B


def test_zoneout_keeps_units_and_uses_expectation_in_eval():
    torch.manual_seed(0)
    inner = ElmanCell(D, H)
    x, h = torch.randn(200, D), torch.randn(200, H)
    new, _ = inner(x, h)
    zone = Zoneout(inner, p=0.3)
    out, _ = zone(x, h)
    kept = torch.isclose(out, h) & ~torch.isclose(new, h)
    assert 0.25 < kept.float().mean() < 0.35
    assert (torch.isclose(out, h) | torch.isclose(out, new)).all()
    torch.testing.assert_close(zone.eval()(x, h)[0], 0.3 * h + 0.7 * new)


def test_recurrent_dropout_mask_is_fixed_along_the_sequence():
    torch.manual_seed(0)
    cell = RecurrentDropout(ElmanCell(D, 50), p=0.5)
    state = cell.init_state(B)
    mask = state[1]
    assert set(mask.unique().tolist()) <= {0.0, 2.0} and 0.3 < (mask == 0).float().mean() < 0.7
    _, final = Recurrent(cell)(torch.randn(T, B, D), state)
    assert final[1] is mask  # the same mask at every step, carried on
    assert (cell.eval().init_state(B)[1] == 1).all()


def test_jordan_teacher_forcing_equals_stepping_with_true_outputs():
    torch.manual_seed(0)
    cell = JordanCell(D, H, 2)
    x, y_true = torch.randn(T, B, D), torch.randn(T, B, 2)
    y_prev = torch.cat([cell.init_state(B)[None], y_true[:-1]])
    stepped = torch.stack([cell(x[t], y_prev[t])[0] for t in range(T)])
    torch.testing.assert_close(cell.teacher_forced(x, y_prev), stepped)
    # free running feeds back its own outputs instead
    free, _ = Recurrent(cell)(x)
    torch.testing.assert_close(free[0], stepped[0])
    assert not torch.allclose(free[1:], stepped[1:])


def test_deep_transition_feeds_the_mlp_output_back():
    torch.manual_seed(0)
    inner = ElmanCell(D, H)
    cell = DeepTransition(inner, depth=1)
    x, h = torch.randn(B, D), torch.randn(B, H)
    out, state = cell(x, h)
    torch.testing.assert_close(out, torch.tanh(cell.layers[0](inner(x, h)[0])))
    assert state is out


def test_deep_output_uses_fused_inner_path_consistently():
    torch.manual_seed(0)
    cell = DeepOutput(GRUCell(D, H), [5, 2]).double()
    x, lengths = torch.randn(T, 3, D).double(), torch.tensor([T, 2, 1])
    a, sa = Recurrent(cell, fused="auto")(x, lengths=lengths)
    b, sb = Recurrent(cell, fused=False)(x, lengths=lengths)
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(sa, sb)
    assert (a[2:, 2] == 0).all()
