"""cell.step: the same step as cell(x, state), plus the named internals, passed through every wrapper."""
import pytest
import torch
from torch import Tensor

from rnnlab import (
    ClockworkCell, DeepOutput, DeepTransition, ElmanCell, GRUCell, JordanCell, LeakyCell, LSTMCell,
    RecurrentDropout, ResidualCell, SkipCell, Zoneout,
)
from rnnlab.cells import RecurrentCell, state_map
from rnnlab.cells._state import leaves

D, H, B = 3, 4, 2

# every cell class, the wrappers around an LSTM so that there is a carried "c" to report
CELLS = {
    "elman": lambda: ElmanCell(D, H),
    "jordan": lambda: JordanCell(D, H, 3),
    "lstm": lambda: LSTMCell(D, H, peephole=True),
    "lstm-proj-layernorm": lambda: LSTMCell(D, H, proj_size=2, layer_norm=True),
    "gru": lambda: GRUCell(D, H),
    "gru-reset-before": lambda: GRUCell(D, H, reset_after=False),
    "leaky": lambda: LeakyCell(LSTMCell(D, H), alpha=0.7),
    "zoneout-train": lambda: Zoneout(LSTMCell(D, H), p=0.5),
    "zoneout-eval": lambda: Zoneout(LSTMCell(D, H), p=0.5).eval(),
    "skip": lambda: SkipCell(LSTMCell(D, H), delay=2),
    "clockwork": lambda: ClockworkCell(LSTMCell(D, H), periods=(1, 2)),
    "residual": lambda: ResidualCell(LSTMCell(D, H)),
    "recurrent-dropout": lambda: RecurrentDropout(LSTMCell(D, H), p=0.5),
    "deep-transition": lambda: DeepTransition(LSTMCell(D, H), depth=2),
    "deep-output": lambda: DeepOutput(LSTMCell(D, H), [5, 2]),
    "leaky-clockwork": lambda: LeakyCell(ClockworkCell(LSTMCell(D, H), periods=(1, 2)), alpha=0.3),
    "zoneout-skip-gru": lambda: Zoneout(SkipCell(GRUCell(D, H), delay=3), p=0.5),
}


def _start(cell: RecurrentCell):
    torch.manual_seed(0)
    return state_map(lambda s: torch.randn_like(s), cell.init_state(B)), torch.randn(3, B, D)


def _inner(cell: RecurrentCell) -> RecurrentCell:
    while hasattr(cell, "cell"):
        cell = cell.cell
    return cell


@pytest.mark.parametrize("name", CELLS)
def test_step_is_forward_plus_internals(name):
    cell = CELLS[name]()
    state, xs = _start(cell)
    s_fwd = s_step = state
    for t, x in enumerate(xs):  # a few steps, so the clockwork's slow units hold once
        torch.manual_seed(t)  # the same zoneout draws on both paths
        out_fwd, s_fwd = cell(x, s_fwd)
        torch.manual_seed(t)
        out, s_step, internals = cell.step(x, s_step)
        assert torch.equal(out, out_fwd)
        assert all(torch.equal(a, b) for a, b in zip(leaves(s_step), leaves(s_fwd), strict=True))
        assert tuple(internals) == cell.internals == _inner(cell).internals
        assert all(isinstance(v, Tensor) and v.shape == (B, H) for v in internals.values())
        if "c" in internals:  # what the state carries on, after any mixing, holding or zoning
            assert torch.equal(internals["c"], leaves(s_step)[1])


def test_lstm_internals_are_the_gates_from_the_weights():
    torch.manual_seed(0)
    cell = LSTMCell(D, H).double()
    x, h, c = torch.randn(B, D).double(), torch.randn(B, H).double(), torch.randn(B, H).double()
    out, (h_new, c_new), v = cell.step(x, (h, c))
    pre = x @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T + cell.bias_hh  # torch.nn's order i, f, g, o
    i, f = torch.sigmoid(pre[:, :H]), torch.sigmoid(pre[:, H : 2 * H])
    g, o = torch.tanh(pre[:, 2 * H : 3 * H]), torch.sigmoid(pre[:, 3 * H :])
    for name, ref in zip("ifgoc", (i, f, g, o, f * c + i * g)):
        torch.testing.assert_close(v[name], ref, atol=1e-12, rtol=0, msg=name)
    torch.testing.assert_close(out, o * torch.tanh(f * c + i * g), atol=1e-12, rtol=0)
    assert out is h_new and v["c"] is c_new


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_internals_are_the_gates_from_the_weights(reset_after):
    torch.manual_seed(0)
    cell = GRUCell(D, H, reset_after=reset_after).double()
    x, h = torch.randn(B, D).double(), torch.randn(B, H).double()
    out, _, v = cell.step(x, h)
    (W_r, W_z, W_n), (U_r, U_z, U_n) = cell.weight_ih.chunk(3), cell.weight_hh.chunk(3)  # torch.nn's order r, z, n
    (b_ir, b_iz, b_in), (b_hr, b_hz, b_hn) = cell.bias_ih.chunk(3), cell.bias_hh.chunk(3)
    r = torch.sigmoid(x @ W_r.T + b_ir + h @ U_r.T + b_hr)
    z = torch.sigmoid(x @ W_z.T + b_iz + h @ U_z.T + b_hz)
    if reset_after:
        n = torch.tanh(x @ W_n.T + b_in + r * (h @ U_n.T + b_hn))
    else:
        n = torch.tanh(x @ W_n.T + b_in + (r * h) @ U_n.T + b_hn)
    for name, ref in zip("rzn", (r, z, n)):
        torch.testing.assert_close(v[name], ref, atol=1e-12, rtol=0, msg=name)
    torch.testing.assert_close(out, (1 - z) * n + z * h, atol=1e-12, rtol=0)


def test_jordan_internal_is_the_hidden_layer():
    torch.manual_seed(0)
    cell = JordanCell(D, H, 3, output_activation="softmax")
    x, y_prev = torch.randn(B, D), torch.randn(B, 3)
    y, state, v = cell.step(x, y_prev)
    torch.testing.assert_close(v["hidden"], torch.tanh(x @ cell.weight_ih.T + cell.bias_ih + y_prev @ cell.weight_oh.T + cell.bias_oh))
    torch.testing.assert_close(y, torch.softmax(v["hidden"] @ cell.weight_ho.T + cell.bias_ho, -1))
    assert state is y


def _inner_step(inner: LSTMCell, x, state):
    with torch.no_grad():
        return inner.step(x, state)[2]


@pytest.mark.parametrize("make", [
    lambda: LeakyCell(LSTMCell(D, H), alpha=0.7),
    lambda: Zoneout(LSTMCell(D, H), p=0.5).eval(),
    lambda: ResidualCell(LSTMCell(D, H)),
    lambda: DeepTransition(LSTMCell(D, H)),
    lambda: DeepOutput(LSTMCell(D, H), [3]),
])
def test_wrappers_report_the_inner_gates_and_the_carried_c(make):
    cell = make()
    (h, c), xs = _start(cell)
    _, (h_new, c_new), v = cell.step(xs[0], (h, c))
    ref = _inner_step(cell.cell, xs[0], (h, c))
    for name in "ifgo":
        assert torch.equal(v[name], ref[name]), name
    assert torch.equal(v["c"], c_new)
    if isinstance(cell, (LeakyCell, Zoneout)):  # they mix c: the reported c is the mixed one, not the inner's
        assert not torch.allclose(v["c"], ref["c"])
        torch.testing.assert_close(v["c"], c + (1 - (0.7 if isinstance(cell, LeakyCell) else 0.5)) * (ref["c"] - c))
    else:
        assert torch.equal(v["c"], ref["c"])


def test_skip_and_dropout_report_the_gates_of_the_state_the_inner_cell_read():
    skip = SkipCell(LSTMCell(D, H), delay=2)
    (new, old), xs = _start(skip)
    _, state, v = skip.step(xs[0], (new, old))
    ref = _inner_step(skip.cell, xs[0], old)  # reads s_{t-2}
    assert all(torch.equal(v[k], ref[k]) for k in "ifgoc") and torch.equal(v["c"], state[0][1])
    drop = RecurrentDropout(LSTMCell(D, H), p=0.5)
    ((h, c), mask), xs = _start(drop)
    mask = drop.init_state(B)[1]
    _, _, v = drop.step(xs[0], ((h, c), mask))
    ref = _inner_step(drop.cell, xs[0], (h * mask, c))  # the thinned h
    assert all(torch.equal(v[k], ref[k]) for k in "ifgoc")


def test_clockwork_reports_zero_for_held_units_and_the_held_c():
    cell = ClockworkCell(LSTMCell(D, H), periods=(1, 2))
    state, xs = _start(cell)
    fast, slow = slice(0, H // 2), slice(H // 2, H)
    for t, x in enumerate(xs[:2]):  # step 0: every unit updates; step 1: the slow half holds
        before = state[0]
        _, state, v = cell.step(x, state)
        ref = _inner_step(cell.cell, x, before)
        units = slice(0, H) if t == 0 else fast
        assert all(torch.equal(v[k][:, units], ref[k][:, units]) for k in "ifgoc")
        assert torch.equal(v["c"], state[0][1])
    for k in "ifgo":
        assert (v[k][:, slow] == 0).all()
    assert torch.equal(v["c"][:, slow], before[1][:, slow])  # held


class _ForwardOnly(RecurrentCell):
    input_size = hidden_size = 2

    def forward(self, x_t, state):
        return x_t + state, x_t + state


class _StepOnly(RecurrentCell):
    input_size = hidden_size = 2
    internals = ("twice",)

    def step(self, x_t, state):
        return x_t + state, x_t + state, {"twice": 2 * (x_t + state)}


def test_base_class_derives_step_from_forward_and_forward_from_step():
    x, s = torch.ones(B, 2), torch.full((B, 2), 2.0)
    out, new, internals = _ForwardOnly().step(x, s)
    assert torch.equal(out, x + s) and internals == {}
    out, new = _StepOnly()(x, s)
    assert torch.equal(out, x + s) and torch.equal(new, x + s)
    with pytest.raises(NotImplementedError, match="step or forward"):
        RecurrentCell()(x, s)
