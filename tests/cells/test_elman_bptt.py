"""ElmanCell's hand-derived BPTT (elman_bptt.py) against autograd through the step-by-step reference."""
from __future__ import annotations

import pytest
import torch

from rnnlab import ElmanCell, Recurrent
from rnnlab.cells import elman_bptt
from tests.helpers import check_cuda_matches_cpu, check_partial_gradients_and_no_grad, gradcheck_module, outputs_and_grads
from rnnlab.cells.activations import ACTIVATIONS

T, B, D, H = 4, 3, 3, 4  # small: full gradcheck perturbs every element of x, h0 and the parameters
LENGTHS = [T, 2, 1]  # one full sequence, two padded ones
CONFIGS = {f"{act}{'' if bias else '_no_bias'}": (act, bias) for act in ACTIVATIONS for bias in (True, False)}
SEQUENCES = {"full": (None, False), "lengths": (LENGTHS, False), "lengths_reverse": (LENGTHS, True)}


def make_cell(config: str, dtype=torch.float64) -> ElmanCell:
    torch.manual_seed(0)
    activation, bias = CONFIGS[config]
    return ElmanCell(D, H, activation, bias).to(dtype)


def inputs(dtype=torch.float64):
    torch.manual_seed(1)
    return torch.randn(T, B, D, dtype=dtype, requires_grad=True), torch.randn(B, H, dtype=dtype, requires_grad=True)


@pytest.mark.parametrize("sequence", SEQUENCES)
@pytest.mark.parametrize("config", CONFIGS)
def test_gradcheck(config, sequence):
    lengths, reverse = SEQUENCES[sequence]
    layer = Recurrent(make_cell(config), fused=True, reverse=reverse)
    assert gradcheck_module(layer, *inputs(), None if lengths is None else torch.tensor(lengths))


@pytest.mark.parametrize("dtype, atol", [(torch.float64, 1e-10), (torch.float32, 1e-5)])
@pytest.mark.parametrize("sequence", SEQUENCES)
@pytest.mark.parametrize("config", CONFIGS)
def test_matches_reference(config, sequence, dtype, atol):
    lengths, reverse = SEQUENCES[sequence]
    cell = make_cell(config, dtype)
    fused = outputs_and_grads(Recurrent(cell, fused=True, reverse=reverse), *inputs(dtype), lengths)
    reference = outputs_and_grads(Recurrent(cell, fused=False, reverse=reverse), *inputs(dtype), lengths)
    names = ["outputs", "state", "x", "h0", *(name for name, _ in cell.named_parameters())]
    assert len(fused) == len(names)
    for name, a, b in zip(names, fused, reference):
        torch.testing.assert_close(a, b, atol=atol, rtol=atol, msg=lambda m: f"{name}: {m}")


@pytest.mark.parametrize("config", CONFIGS)
def test_fused_function_is_used(config, monkeypatch):
    calls = []
    apply = elman_bptt.ElmanScan.apply
    monkeypatch.setattr(elman_bptt.ElmanScan, "apply", lambda *args: calls.append(1) or apply(*args))
    y, _ = Recurrent(make_cell(config), fused=True)(*inputs())
    y.sum().backward()
    assert calls == [1]


@pytest.mark.parametrize("config", ["tanh", "relu"])
def test_padded_steps(config):
    cell = make_cell(config)
    x, h0 = inputs()
    y, h = Recurrent(cell, fused=True)(x, h0, torch.tensor(LENGTHS))
    (y.sum() + h.sum()).backward()
    for b, length in enumerate(LENGTHS):
        assert (x.grad[length:, b] == 0).all()  # no gradient reaches padded inputs
        assert (y[length:, b] == 0).all()  # padded outputs are zero
        alone, last = Recurrent(cell, fused=True)(x[:length, b : b + 1], h0[b : b + 1])
        torch.testing.assert_close(h[b : b + 1], last, atol=1e-12, rtol=0)  # the state after its own last step
        torch.testing.assert_close(y[:length, b : b + 1], alone, atol=1e-12, rtol=0)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_matches_torch_rnn(activation):
    """With tanh or relu the cell is torch.nn.RNN's."""
    cell = make_cell(activation)
    twin = torch.nn.RNN(D, H, nonlinearity=activation, dtype=torch.float64)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(twin, f"{name}_l0").copy_(getattr(cell, name))
    x, h0 = inputs()
    y, h = Recurrent(cell, fused=True)(x, h0)
    y_torch, h_torch = twin(x, h0.unsqueeze(0))
    torch.testing.assert_close(y, y_torch, atol=1e-12, rtol=0)
    torch.testing.assert_close(h, h_torch[0], atol=1e-12, rtol=0)


def test_partial_gradients_and_no_grad():
    """Only some inputs needing a gradient, and inference without autograd, work too."""
    check_partial_gradients_and_no_grad(make_cell("tanh"), *inputs())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("config", CONFIGS)
def test_cuda(config):
    check_cuda_matches_cpu(make_cell(config), *inputs(), LENGTHS)
