"""The NARX cell: equation (1) against a hand-written unroll, gradchecked through Recurrent in
both training modes, no leak of y_t into step t's prediction, scheduled mixing, the Recorder."""
import pytest
import torch

from rnnlab.cells.narx import NARXCell
from rnnlab.cells.registry import make_cell
from rnnlab.explore.record import Recorder
from rnnlab.layers.recurrent import Recurrent

D, O, H, T, B = 2, 1, 3, 6, 2


def unroll(cell: NARXCell, u, y_true=None):
    """Equation (1) with explicit Python lists as the delay lines (teacher: y_true fills the y line)."""
    us, ys, h, outs = [], [], torch.zeros(u.shape[1], H, dtype=u.dtype), []
    for t in range(u.shape[0]):
        window = [u[t]] + [us[-k] if k <= len(us) else torch.zeros_like(u[t]) for k in range(1, cell.input_delays + 1)]
        ywin = [ys[-k] if k <= len(ys) else torch.zeros(u.shape[1], O, dtype=u.dtype) for k in range(1, cell.output_delays + 1)]
        pre = torch.cat(window, 1) @ cell.weight_x.T + cell.bias + torch.cat(ywin, 1) @ cell.weight_y.T
        if cell.hidden_recurrence:
            pre = pre + h @ cell.weight_hh.T
        h = torch.tanh(pre)
        y = h @ cell.weight_o.T + cell.bias_o
        outs.append(y)
        us.append(u[t])
        ys.append(y if y_true is None else y_true[t])
    return torch.stack(outs)


@pytest.mark.parametrize("recurrence", [False, True])
def test_parallel_and_series_parallel_equal_the_hand_unroll(recurrence):
    torch.manual_seed(0)
    u, y_true = torch.randn(T, B, D, dtype=torch.float64), torch.randn(T, B, O, dtype=torch.float64)
    free = NARXCell(D, O, input_delays=2, output_delays=3, hidden_size=H, hidden_recurrence=recurrence).double()
    out, _ = Recurrent(free)(u)
    torch.testing.assert_close(out, unroll(free, u))
    forced = NARXCell(D, O, input_delays=2, output_delays=3, hidden_size=H, hidden_recurrence=recurrence,
                      teacher=True).double()
    forced.load_state_dict(free.state_dict())
    out, _ = Recurrent(forced)(torch.cat([u, y_true], -1))
    torch.testing.assert_close(out, unroll(free, u, y_true))
    forced.teacher_prob = 0.0  # closed loop: the true columns are ignored
    out, _ = Recurrent(forced)(torch.cat([u, y_true], -1))
    torch.testing.assert_close(out, unroll(free, u))


@pytest.mark.parametrize("teacher_prob", [0.0, 1.0])
@pytest.mark.parametrize("hidden", [0, H])
def test_gradcheck_through_recurrent_with_lengths(teacher_prob, hidden):
    torch.manual_seed(1)
    cell = NARXCell(D, 2, input_delays=1, output_delays=2, hidden_size=hidden, hidden_recurrence=bool(hidden),
                    output_activation="tanh", teacher=True, teacher_prob=teacher_prob).double()
    layer = Recurrent(cell)
    x = torch.randn(5, B, D + 2, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([5, 3])
    names = [n for n, _ in layer.named_parameters()]

    def f(x, *ps):
        out, state = torch.func.functional_call(layer, dict(zip(names, ps)), (x, None, lengths))
        return out, *state

    assert torch.autograd.gradcheck(f, (x, *layer.parameters()))


def test_the_true_output_of_a_step_does_not_reach_its_prediction():
    torch.manual_seed(2)
    cell = NARXCell(D, O, hidden_size=H, teacher=True).double()
    x = torch.randn(T, 1, D + O, dtype=torch.float64, requires_grad=True)
    out, _ = Recurrent(cell)(x)
    jac = torch.autograd.functional.jacobian(lambda x: Recurrent(cell)(x)[0][:, 0, 0], x)  # (T, T, 1, D+O)
    true_cols = jac[:, :, 0, D:].squeeze(-1)  # ∂ŷ_t / ∂y_s
    assert torch.all(true_cols.triu() == 0)  # s >= t: nothing (no leak)
    assert true_cols[1, 0] != 0  # y_{t-1} does enter through the delay line


def test_series_parallel_passes_no_gradient_through_the_fed_back_outputs():
    cell = NARXCell(1, 1, input_delays=0, output_delays=1, teacher=True)
    x = torch.randn(4, 1, 2)
    out, _ = Recurrent(cell)(x)
    # with y fed from data, ŷ_3 depends on the weights only through step 3's own computation
    (g_forced,) = torch.autograd.grad(out[3].sum(), cell.weight_x)
    torch.testing.assert_close(g_forced, (x[3, :, :1]).sum(0, keepdim=True))  # identity output: ∂ŷ/∂W_x = u_t


def test_scheduled_mixing_lies_between_the_two_modes():
    torch.manual_seed(3)
    cell = NARXCell(1, 1, input_delays=0, output_delays=1, teacher=True, teacher_prob=0.5)
    x = torch.randn(50, 400, 2)
    with torch.no_grad():
        mixed = Recurrent(cell)(x)[0]
        cell.teacher_prob = 1.0
        forced = Recurrent(cell)(x)[0]
        cell.teacher_prob = 0.0
        free = Recurrent(cell)(x)[0]
    same_forced = torch.isclose(mixed[1:], forced[1:]).float().mean()
    same_free = torch.isclose(mixed[1:], free[1:]).float().mean()
    assert 0.3 < same_forced < 0.7 and same_free < 0.9  # about half of the rows followed the truth per step
    with pytest.raises(ValueError, match="teacher_prob"):
        cell.teacher_prob = 1.5


def test_bad_configuration_is_named():
    with pytest.raises(ValueError, match="hidden_recurrence needs a hidden layer"):
        NARXCell(1, 1, hidden_recurrence=True)
    with pytest.raises(ValueError, match="output_delays >= 1"):
        NARXCell(1, 1, output_delays=0, teacher=True)
    with pytest.raises(ValueError, match="expected 3 input features"):
        Recurrent(NARXCell(2, 1, teacher=True))(torch.zeros(3, 1, 2))


def test_registry_cell_and_recorder():
    cell = make_cell("narx", 3, 4)
    assert cell.output_size == 4 and cell.input_size == 3
    model = torch.nn.Sequential()
    model.rnn = Recurrent(cell)
    with Recorder(model) as rec:
        model.rnn(torch.randn(5, 2, 3))
    assert set(rec.values["rnn"]) >= {"h", "hidden", "y"}
    assert rec.values["rnn"]["y"].shape == (5, 2, 4)
