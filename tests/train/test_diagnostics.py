"""hidden_gradient_norms against independent computations: BPTT by hand for Elman, retain_grad on
the states of an explicit loop for LSTM / stacked / wrapped cells; the vanishing and exploding
regimes; and the text table."""
import pytest
import torch

from rnnlab import DeepOutput, ElmanCell, GRUCell, LSTMCell, Recurrent, Stacked
from rnnlab.train.diagnostics import gradient_norm_table, hidden_gradient_norms

T, B, D, H = 12, 3, 4, 5
f64 = torch.float64


def _elman(activation="tanh", hidden=H, scale=1.0, seed=0):
    torch.manual_seed(seed)
    cell = ElmanCell(D, hidden, activation=activation).double()
    with torch.no_grad():
        cell.weight_hh.mul_(scale)
    return cell


@pytest.mark.parametrize("every_step", [False, True], ids=["last-step-loss", "loss-on-every-step-and-final"])
def test_elman_equals_bptt_by_hand(every_step):
    cell = _elman()
    x = torch.randn(T, B, D, dtype=f64)
    w = torch.randn(T, B, H, dtype=f64)  # dL/dout_t
    v = torch.randn(B, H, dtype=f64)  # dL/dh_T through the final state
    if not every_step:
        w[:-1] = 0
        v.zero_()

    def loss_fn(out, final):
        return (out * w).sum() + (final * v).sum()

    got = hidden_gradient_norms(Recurrent(cell), x, loss_fn)
    got_per_example = hidden_gradient_norms(Recurrent(cell), x, loss_fn, per_example=True)

    with torch.no_grad():
        h, _ = Recurrent(cell, fused=False)(x)  # h_1 … h_T
        W = cell.weight_hh
        g = [None] * T
        g[-1] = w[-1] + v  # dL/dh_T
        for t in range(T - 2, -1, -1):
            # dL/dh_t = ∂L/∂out_t + W_hhᵀ (dL/dh_{t+1} ⊙ (1 − h_{t+1}²)); rows are examples, hence @ W
            g[t] = w[t] + (g[t + 1] * (1 - h[t + 1] ** 2)) @ W
        want = torch.stack(g)
    torch.testing.assert_close(got, want.flatten(1).norm(dim=1), rtol=1e-12, atol=0)
    torch.testing.assert_close(got_per_example, want.norm(dim=2), rtol=1e-12, atol=0)
    assert got.dtype == f64 and got.shape == (T,) and not got.requires_grad


def _loop_hidden_grads(cell, x, loss_fn, state):
    """dL/dh_t by retain_grad on the hidden states of a plain loop (h is the cell's first state leaf)."""
    hs, outs = [], []
    for t in range(x.shape[0]):
        out, state = cell(x[t], state)
        h = state[0] if isinstance(state, tuple) else state
        h.retain_grad()
        hs.append(h)
        outs.append(out)
    loss_fn(torch.stack(outs), state).backward()
    return torch.stack([h.grad for h in hs])


def test_stacked_lstm_equals_retain_grad_loop():
    torch.manual_seed(1)
    lower = Recurrent(LSTMCell(D, H, peephole=True).double())
    upper = Recurrent(GRUCell(H, 3).double())
    stack = Stacked([lower, upper])
    x = torch.randn(T, B, D, dtype=f64)
    h0 = (torch.randn(B, H, dtype=f64), torch.randn(B, H, dtype=f64))
    target = torch.randn(T, B, 3, dtype=f64)

    def loss_fn(out, final):  # the gradient of the lower layer's states through the upper layer
        y, _ = stack.layers[1](out)
        return ((y - target) ** 2).mean() + final[1].pow(2).sum()  # final[1]: the cell state c_T

    got = hidden_gradient_norms(lower, x, loss_fn, state=h0)
    want = _loop_hidden_grads(lower.cell, x, loss_fn, h0)
    torch.testing.assert_close(got, want.flatten(1).norm(dim=1), rtol=1e-12, atol=1e-15)


def test_output_computed_from_hidden_counts_the_direct_path():
    """DeepOutput returns head(h), not h: the probe alone would miss ∂L/∂out_t · ∂out_t/∂h_t."""
    torch.manual_seed(2)
    cell = DeepOutput(ElmanCell(D, H), [6, 2]).double()
    x = torch.randn(T, B, D, dtype=f64)
    w = torch.randn(T, B, 2, dtype=f64)

    def loss_fn(out, final):
        return (out * w).sum()

    got = hidden_gradient_norms(Recurrent(cell), x, loss_fn)
    want = _loop_hidden_grads(cell, x, loss_fn, cell.init_state(B))
    torch.testing.assert_close(got, want.flatten(1).norm(dim=1), rtol=1e-12, atol=1e-15)


def test_reverse_and_batch_first_report_input_order():
    cell = _elman(seed=3)
    x = torch.randn(T, B, D, dtype=f64)
    w = torch.randn(T, B, H, dtype=f64)

    def forward_loss(out, final):
        return (out * w).sum() + final.pow(2).sum()

    def reverse_loss(out, final):  # the same function of the same values: a reversed layer's out is flipped
        return forward_loss(out.flip(0), final)

    forward = hidden_gradient_norms(Recurrent(cell), x.flip(0), forward_loss)
    backward = hidden_gradient_norms(Recurrent(cell, reverse=True), x, reverse_loss)
    torch.testing.assert_close(backward, forward.flip(0), rtol=1e-12, atol=0)

    def first_step_loss(out, final):  # batch-first outputs: (B, T, H)
        return out[:, 0].sum()

    # a reversed layer reaches input position 0 last, so a loss there is largest at t = 0
    norms = hidden_gradient_norms(Recurrent(cell, reverse=True, batch_first=True), x.transpose(0, 1), first_step_loss)
    assert norms.argmax() == 0 and (norms[1:] < norms[:-1]).all()


def test_small_recurrent_weights_vanish_geometrically():
    """With tanh' ≤ 1, ‖dL/dh_t‖ ≤ ‖W_hh‖₂ ‖dL/dh_{t+1}‖, and ‖0.5·W_hh‖₂ < 1 at the default init."""
    T = 30
    cell = _elman(hidden=16, scale=0.5, seed=4)
    sigma = torch.linalg.matrix_norm(cell.weight_hh.detach(), ord=2).item()
    assert sigma < 1
    x = torch.randn(T, B, D, dtype=f64)
    norms = hidden_gradient_norms(Recurrent(cell), x, lambda out, final: out[-1].pow(2).sum())
    assert (norms[:-1] <= sigma * norms[1:] * (1 + 1e-12)).all()
    assert norms[0] / norms[-1] < sigma ** (T - 1) * (1 + 1e-9)
    assert norms[0] / norms[-1] < 1e-6


def test_large_recurrent_weights_explode():
    T = 30
    cell = _elman(activation="identity", hidden=16, scale=3.0, seed=5)
    radius = torch.linalg.eigvals(cell.weight_hh.detach()).abs().max().item()
    assert radius > 1.3
    x = torch.randn(T, B, D, dtype=f64)
    norms = hidden_gradient_norms(Recurrent(cell), x, lambda out, final: out[-1].pow(2).sum())
    assert norms[0] / norms[-1] > 1e3
    # a linear recurrence back-propagates by W_hhᵀ: the growth per step tends to the spectral radius
    assert norms[0] / norms[1] == pytest.approx(radius, rel=0.2)


def test_per_example_separates_the_batch_and_works_under_no_grad():
    cell = _elman(seed=6)
    x = torch.randn(T, B, D, dtype=f64)
    with torch.no_grad():
        per = hidden_gradient_norms(Recurrent(cell), x, lambda out, final: out[-1, 0].sum(), per_example=True)
    assert per.shape == (T, B)
    assert (per[:, 0] > 0).all() and (per[:, 1:] == 0).all()
    total = hidden_gradient_norms(Recurrent(cell), x, lambda out, final: out[-1, 0].sum())
    torch.testing.assert_close(total, per.norm(dim=1))


def test_bad_inputs_name_the_problem():
    layer = Recurrent(_elman())
    x = torch.randn(T, B, D, dtype=f64)
    with pytest.raises(ValueError, match="3-D"):
        hidden_gradient_norms(layer, x[0], lambda out, final: out.sum())
    with pytest.raises(ValueError, match="scalar"):
        hidden_gradient_norms(layer, x, lambda out, final: out[-1].sum(1))
    with pytest.raises(ValueError, match="does not depend"):
        hidden_gradient_norms(layer, x, lambda out, final: torch.tensor(1.0))
    with pytest.raises(ValueError, match="input features"):
        hidden_gradient_norms(layer, x[..., :2], lambda out, final: out.sum())
    with pytest.raises(ValueError, match="initial state"):
        hidden_gradient_norms(layer, x, lambda out, final: out.sum(), state=torch.zeros(B, H + 1, dtype=f64))
    with pytest.raises(TypeError, match="Recurrent"):
        hidden_gradient_norms(layer.cell, x, lambda out, final: out.sum())


def test_the_probes_run_in_the_layers_own_loop_and_leave_no_hook_behind():
    layer = Recurrent(_elman(seed=7))
    x = torch.randn(T, B, D, dtype=f64)
    seen = []
    layer.register_step_hook(lambda lay, step: seen.append(step.t))  # another hook sees the probed run
    hidden_gradient_norms(layer, x, lambda out, final: out.sum())
    assert seen == list(range(T)) and len(layer._step_hooks) == 1

    def failing(out, final):
        raise RuntimeError("loss failed")

    with pytest.raises(RuntimeError, match="loss failed"):
        hidden_gradient_norms(layer, x, failing)
    with pytest.raises(ValueError, match="input features"):
        hidden_gradient_norms(layer, x[..., :2], lambda out, final: out.sum())
    assert len(layer._step_hooks) == 1


def test_gradient_norm_table():
    curves = {"elman": torch.arange(1, 26, dtype=f64) * 1e-3, "lstm_long_name": torch.ones(25)}
    lines = gradient_norm_table(curves, every=10).splitlines()
    assert lines[0].split() == ["t", "elman", "lstm_long_name"]
    steps = [int(line.split()[0]) for line in lines[2:]]
    assert steps == [25, 15, 5, 1]
    assert lines[2].split()[1:] == ["2.500e-02", "1.000e+00"]
    assert lines[-1].split()[1:] == ["1.000e-03", "1.000e+00"]
    assert [int(line.split()[0]) for line in gradient_norm_table(curves, every=8).splitlines()[2:]] == [25, 17, 9, 1]
    with pytest.raises(ValueError, match="length"):
        gradient_norm_table({"a": torch.ones(3), "b": torch.ones(4)})
    with pytest.raises(ValueError, match="1-D"):
        gradient_norm_table({"a": torch.ones(3, 2)})


# `rnnlab gradients` and examples/vanishing_gradients.py (they live elsewhere but are this module's front ends)


def test_gradients_command_prints_table_ratios_and_saves_plot(tmp_path, capsys):
    import argparse

    from rnnlab.cli import gradients

    parser = argparse.ArgumentParser(prog="rnnlab")
    gradients.register(parser.add_subparsers())
    out = tmp_path / "plots" / "g.png"
    args = parser.parse_args(["gradients", "--cell", "elman", "gru", "--length", "25", "--hidden", "8",
                              "--batch", "2", "--out", str(out)])
    rng = torch.random.get_rng_state()
    assert args.func(args) == 0
    assert torch.equal(torch.random.get_rng_state(), rng)  # seeding the cells left the caller's generator alone
    printed = capsys.readouterr().out
    assert printed.splitlines()[1].split() == ["t", "elman", "gru"]
    assert [line.split()[0] for line in printed.splitlines()[3:8]] == ["25", "24", "23", "22", "21"]
    assert f"plot: {out}" in printed and out.read_bytes().startswith(b"\x89PNG")
    ratios = {line.split()[0]: float(line.split()[1]) for line in printed.split("‖dL/dh_1‖ / ‖dL/dh_T‖:")[1].splitlines()[1:3]}
    curves = gradients.gradient_curves(["elman", "gru"], length=25, hidden=8, batch=2)
    assert ratios == pytest.approx({k: gradients.gradient_ratio(c) for k, c in curves.items()}, rel=1e-3)
    assert 0 < ratios["elman"] < 1e-3  # default-initialised Elman: vanishing within 25 steps


def test_gradients_command_rejects_unknown_cells():
    from rnnlab.cli.gradients import gradient_curves
    from rnnlab.errors import ConfigError

    with pytest.raises(ConfigError, match=r"unknown cell 'lstmm'; choose one of: elman, .*lstm"):
        gradient_curves(["elman", "lstmm"], length=5)
    with pytest.raises(ConfigError, match="length must be at least 1"):
        gradient_curves(["elman"], length=0)


def test_vanishing_gradients_example_runs(tmp_path, capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[2] / "examples" / "vanishing_gradients.py"
    spec = importlib.util.spec_from_file_location("vanishing_gradients", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    ratios = example.main(["--length", "30", "--out", str(tmp_path / "vg.png")])
    assert list(ratios) == ["elman", "lstm", "gru", "lstm, forget bias 3"]
    # a forget gate biased towards 1 carries the gradient much further than the default-initialised LSTM
    assert ratios["lstm, forget bias 3"] > 1e3 * ratios["lstm"]
    assert (tmp_path / "vg.png").exists() and "‖dL/dh_1‖ / ‖dL/dh_T‖" in capsys.readouterr().out
