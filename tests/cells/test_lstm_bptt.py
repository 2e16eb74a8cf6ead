"""The LSTM's hand-derived BPTT (rnnlab/cells/lstm_bptt.py) against autograd through the reference loop."""
import pytest
import torch

import rnnlab.cells.lstm_bptt as lstm_bptt
from rnnlab import LSTMCell, Recurrent
from tests.helpers import gradcheck_module

T, B, D, H = 5, 3, 3, 4
LENGTHS = [T, 2, 1]

CONFIGS = {
    "plain": {},
    "peephole": dict(peephole=True),
    "identity": dict(candidate_activation="identity", state_activation="identity"),
    "sigmoid_relu": dict(candidate_activation="sigmoid", state_activation="relu"),
    "relu_sigmoid": dict(candidate_activation="relu", state_activation="sigmoid"),
    "no_bias": dict(bias=False),
    "layer_norm": dict(layer_norm=True),
    "layer_norm_peephole": dict(layer_norm=True, peephole=True),
    "layer_norm_no_bias": dict(layer_norm=True, bias=False),
    "proj": dict(proj_size=2),
    "everything": dict(proj_size=3, layer_norm=True, peephole=True, candidate_activation="sigmoid"),
}
SEQUENCES = {  # (lengths, reverse)
    "full": (None, False), "lengths": (LENGTHS, False), "reverse": (None, True), "reverse_lengths": (LENGTHS, True),
}


def make_cell(config: str, dtype=torch.float64, seed: int = 0) -> LSTMCell:
    torch.manual_seed(seed)
    cell = LSTMCell(D, H, **CONFIGS[config]).to(dtype)
    with torch.no_grad():  # move LayerNorm gains/shifts off 1 and 0 so their gradients matter
        for p in cell.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return cell


def make_inputs(cell: LSTMCell, dtype=torch.float64, seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(T, B, D, generator=g, dtype=dtype)
    h0 = torch.randn(B, cell.output_size, generator=g, dtype=dtype)
    c0 = torch.randn(B, H, generator=g, dtype=dtype)
    return x, h0, c0


def run(layer: Recurrent, x, h0, c0, lengths):
    """Outputs, final state and the gradients of a loss that weighs every output, w.r.t. everything."""
    layer.zero_grad()
    x, h0, c0 = (v.detach().clone().requires_grad_() for v in (x, h0, c0))
    y, (h, c) = layer(x, (h0, c0), lengths)
    g = torch.Generator().manual_seed(2)
    loss = sum((v * torch.randn(v.shape, generator=g, dtype=v.dtype)).sum() for v in (y, h, c))
    loss.backward()
    grads = {"x": x.grad, "h0": h0.grad, "c0": c0.grad}
    grads.update({name: p.grad for name, p in layer.named_parameters()})
    return {"y": y, "h": h, "c": c, **grads}


def assert_close(fused: dict, reference: dict, atol: float, rtol: float = 0.0):
    assert fused.keys() == reference.keys()
    for name in reference:
        assert fused[name] is not None, f"no gradient for {name}"
        torch.testing.assert_close(fused[name], reference[name], atol=atol, rtol=rtol, msg=lambda m: f"{name}: {m}")


@pytest.fixture
def count_calls(monkeypatch):
    """Count the calls of the hand-derived Function and of torch's kernel."""
    calls = {"hand": 0, "torch": 0}
    apply, torch_lstm = lstm_bptt.LSTMScan.apply, lstm_bptt.torch_lstm

    def counted_apply(*args):
        calls["hand"] += 1
        return apply(*args)

    def counted_torch_lstm(*args):
        calls["torch"] += 1
        return torch_lstm(*args)

    monkeypatch.setattr(lstm_bptt.LSTMScan, "apply", counted_apply)
    monkeypatch.setattr(lstm_bptt, "torch_lstm", counted_torch_lstm)
    return calls


@pytest.mark.parametrize("sequence", ["full", "reverse_lengths"])  # the others: test_matches_reference
@pytest.mark.parametrize("config", CONFIGS)
def test_gradcheck(config, sequence, count_calls):
    """float64 gradcheck w.r.t. x, h0, c0 and every parameter of the cell."""
    lengths, reverse = SEQUENCES[sequence]
    layer = Recurrent(make_cell(config), fused=True, reverse=reverse)
    x, h0, c0 = make_inputs(layer.cell)
    assert gradcheck_module(layer, x, (h0, c0), None if lengths is None else torch.tensor(lengths))
    assert count_calls["hand"] > 0  # float64 always takes the hand-derived path


@pytest.mark.parametrize("sequence", SEQUENCES)
@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("dtype, atol, rtol", [(torch.float64, 1e-10, 0.0), (torch.float32, 1e-5, 1e-5)])
def test_matches_reference(config, sequence, dtype, atol, rtol, count_calls):
    lengths, reverse = SEQUENCES[sequence]
    cell = make_cell(config, dtype)
    inputs = make_inputs(cell, dtype)
    fused = run(Recurrent(cell, fused=True, reverse=reverse), *inputs, lengths)
    assert count_calls["hand"] + count_calls["torch"] == 1  # the fused path ran, and only it
    reference = run(Recurrent(cell, fused=False, reverse=reverse), *inputs, lengths)
    assert_close(fused, reference, atol=atol, rtol=rtol)


@pytest.mark.parametrize("config", ["plain", "no_bias"])
@pytest.mark.parametrize("kernel", ["hand", "torch"])
def test_plain_lstm_both_kernels(config, kernel, monkeypatch, count_calls):
    """Plain configurations may run on torch's kernel: both it and the hand-derived path agree."""
    monkeypatch.setattr(lstm_bptt, "use_torch_kernel", lambda cell, x, mask: kernel == "torch" and mask is None)
    cell = make_cell(config, torch.float32)
    inputs = make_inputs(cell, torch.float32)
    fused = run(Recurrent(cell, fused=True), *inputs, None)
    assert count_calls[kernel] == 1
    assert_close(fused, run(Recurrent(cell, fused=False), *inputs, None), atol=1e-5, rtol=1e-5)


def test_kernel_choice(monkeypatch):
    x = torch.zeros(T, B, D)
    mask = torch.ones(T, B)
    monkeypatch.setattr(lstm_bptt, "ours_faster", lambda B, H: False)  # (sizes where oneDNN measured faster)
    assert lstm_bptt.use_torch_kernel(LSTMCell(D, H), x, None) == torch.backends.mkldnn.is_available()
    assert not lstm_bptt.use_torch_kernel(LSTMCell(D, H), x, mask)  # torch's packed path is slow
    assert not lstm_bptt.use_torch_kernel(LSTMCell(D, H), x.double(), None)  # no oneDNN for float64
    assert not lstm_bptt.use_torch_kernel(LSTMCell(D, H, proj_size=2), x, None)
    assert not lstm_bptt.use_torch_kernel(LSTMCell(D, H, peephole=True), x, None)


@pytest.mark.parametrize("config", CONFIGS)
def test_padded_steps(config):
    """Padding gets no gradient, outputs zeros there, and the final state is that of the last valid step."""
    cell = make_cell(config)
    x, h0, c0 = make_inputs(cell)
    got = run(Recurrent(cell, fused=True), x, h0, c0, LENGTHS)
    for b, length in enumerate(LENGTHS):
        assert torch.all(got["x"][length:, b] == 0)
        assert torch.all(got["y"][length:, b] == 0)
        y, (h, c) = Recurrent(cell, fused=True)(x[:length, b : b + 1], (h0[b : b + 1], c0[b : b + 1]))
        torch.testing.assert_close(got["y"][:length, b], y[:, 0], atol=1e-12, rtol=0)
        torch.testing.assert_close(got["h"][b], h[0], atol=1e-12, rtol=0)
        torch.testing.assert_close(got["c"][b], c[0], atol=1e-12, rtol=0)


def test_parameters_only_and_no_grad():
    """x without gradient (the first layer of a model), and inference under no_grad."""
    cell = make_cell("layer_norm_peephole")
    x, h0, c0 = make_inputs(cell)
    y, (h, c) = Recurrent(cell, fused=True)(x, (h0, c0))
    (y.sum() + h.sum() + c.sum()).backward()
    fused = {name: p.grad.clone() for name, p in cell.named_parameters()}
    cell.zero_grad()
    y, (h, c) = Recurrent(cell, fused=False)(x, (h0, c0))
    (y.sum() + h.sum() + c.sum()).backward()
    for name, p in cell.named_parameters():
        torch.testing.assert_close(fused[name], p.grad, atol=1e-10, rtol=0)
    with torch.no_grad():
        y_fused, _ = Recurrent(cell, fused=True)(x, (h0, c0), LENGTHS)
        y_reference, _ = Recurrent(cell, fused=False)(x, (h0, c0), LENGTHS)
    torch.testing.assert_close(y_fused, y_reference, atol=1e-12, rtol=0)


def scan_inputs(cell: LSTMCell, x, h0, c0, lengths):
    """LSTMScan's arguments for `cell`, as lstm_scan builds them (a mask from the lengths)."""
    mask = None if lengths is None else (torch.arange(x.shape[0]).unsqueeze(1) < torch.tensor(lengths)).to(x.dtype)
    b = cell.bias_ih + cell.bias_hh if cell.bias_ih is not None else None
    peep = (cell.weight_ci, cell.weight_cf, cell.weight_co) if cell.peephole else (None,) * 3
    norms = (cell.ln_ih, cell.ln_hh, cell.ln_c) if cell.layer_norm else None
    ln = (*(n.weight for n in norms), cell.ln_c.bias) if norms else (None,) * 4
    eps = tuple(n.eps for n in norms) if norms else (0.0,) * 3
    options = (cell.candidate_activation, cell.state_activation, *eps)
    return (x, cell.weight_ih, b, h0, c0, mask, cell.weight_hh, *peep, *ln, cell.weight_hr, options)


# LayerNorms LSTMScan can take one by one (LSTMCell switches all three together): None for all,
# "hh" for LN_hh alone (the loop adds b to W x + γ_hh ⊙ û), "hh_c" LN_hh and LN_c
PARTIAL_NORMS = {None: (), "hh": (10, 12, 13), "hh_c": (10,)}  # the arguments set to None (γ_ih; γ_c, β_c)


@pytest.mark.parametrize("path", ["compiled", "python"])
@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "lengths"])
@pytest.mark.parametrize("config, norms, frozen_bias", [
    ("layer_norm", None, False), ("layer_norm_no_bias", None, False), ("everything", None, False),
    ("layer_norm", "hh", False), ("layer_norm_peephole", "hh_c", False), ("plain", None, False),
    ("peephole", None, True), ("layer_norm", None, True), ("layer_norm", "hh", True),
])
def test_layer_norm_gradients_equal_reference_autograd(config, norms, frozen_bias, lengths, path):
    """The fused LN_ih (normalised per row inside the loops; ∂L/∂γ_ih, ∂L/∂b and ∂L/∂(W x) formed per
    row in the backward), and b added and ∂L/∂b summed inside the loops without it, against autograd
    through `LSTMScan.reference` (torch's layer_norm), every input's gradient, float64, on the
    compiled loop and on the Python loop; also with some LayerNorms off and with b frozen."""
    from rnnlab.cells._compiled import available, python_path

    if path == "compiled" and not available():
        pytest.skip("compiled kernels not built")
    cell = make_cell(config)
    x, h0, c0 = (v.requires_grad_() for v in make_inputs(cell))
    args = list(scan_inputs(cell, x, h0, c0, lengths))
    for k in PARTIAL_NORMS[norms]:
        args[k] = None
    if frozen_bias:
        args[2] = args[2].detach()
    tensors = [k for k, v in enumerate(args) if isinstance(v, torch.Tensor) and v.requires_grad]
    g = torch.Generator().manual_seed(3)
    weights = None

    def gradients(f):
        nonlocal weights
        outs = f(*args)
        if weights is None:
            weights = [torch.randn(o.shape, generator=g, dtype=o.dtype) for o in outs]
        loss = sum((o * w).sum() for o, w in zip(outs, weights))
        return outs, torch.autograd.grad(loss, [args[k] for k in tensors])

    with python_path() if path == "python" else torch.enable_grad():
        fused_outs, fused = gradients(lstm_bptt.LSTMScan.apply)
    reference_outs, reference = gradients(lstm_bptt.LSTMScan.reference)
    for a, b in zip(fused_outs, reference_outs):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)
    for k, a, b in zip(tensors, fused, reference):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0, msg=lambda m: f"argument {k}: {m}")


def test_layer_norm_float32_as_accurate_as_torch():
    """float32 LayerNorm statistics in the compiled loops (means from x_t · mean(W_ih rows) and
    h · mean(U rows), two-pass variances in float lanes) stay as close to float64 as torch's own
    float32 layer_norm (the Python loops), also where the rows' means dwarf their spread."""
    from rnnlab.cells._compiled import available, python_path

    if not available():
        pytest.skip("compiled kernels not built")
    torch.manual_seed(0)
    Tn, Bn, Dn, Hn = 30, 4, 16, 64
    cell = LSTMCell(Dn, Hn, layer_norm=True, peephole=True)
    with torch.no_grad():
        cell.weight_ih.mul_(0.1).add_(0.5)  # every row of W x shares a large mean: μ ≫ σ
        cell.weight_hh.add_(0.3)
        for p in (cell.ln_ih.weight, cell.ln_hh.weight, cell.ln_c.weight, cell.ln_c.bias):
            p.add_(0.3 * torch.randn_like(p))
    x = torch.randn(Tn, Bn, Dn) + 2.0
    state = (torch.randn(Bn, Hn), torch.randn(Bn, Hn))

    def outputs(cell, dtype):
        cell = cell.to(dtype)
        xs = x.to(dtype).requires_grad_()
        y, (h, c) = Recurrent(cell, fused=True)(xs, tuple(s.to(dtype) for s in state), [Tn, 20, 9, 1])
        grads = torch.autograd.grad((y * torch.linspace(-1, 1, Hn, dtype=dtype)).sum() + c.sum(), [xs, *cell.parameters()])
        return [y, c, *grads]

    exact = outputs(cell.double(), torch.float64)
    compiled = outputs(cell.float(), torch.float32)
    with python_path():
        torch_ln = outputs(cell.float(), torch.float32)
    for k, (a, b, e) in enumerate(zip(compiled, torch_ln, exact)):
        scale = e.abs().max().item()
        err_ours, err_torch = ((v.double() - e).abs().max().item() / scale for v in (a, b))
        assert err_ours <= 4 * err_torch + 2e-6, f"tensor {k}: {err_ours:.2e} vs torch's {err_torch:.2e}"
