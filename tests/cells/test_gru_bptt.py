"""GRUCell's hand-derived BPTT (gru_bptt.py) against autograd through the step-by-step reference."""
from __future__ import annotations

import pytest
import torch

from rnnlab import GRUCell, Recurrent
from rnnlab.cells import gru_bptt
from tests.helpers import check_cuda_matches_cpu, check_partial_gradients_and_no_grad, gradcheck_module, outputs_and_grads

T, B, D, H = 4, 3, 3, 4  # small: full gradcheck perturbs every element of x, h0 and the parameters
LENGTHS = [T, 2, 1]  # one full sequence, two padded ones
CONFIGS = {
    "reset_after": {},
    "reset_before": {"reset_after": False},
    "no_bias": {"bias": False},
    "reset_before_no_bias": {"reset_after": False, "bias": False},
    "layer_norm": {"layer_norm": True},
    "reset_before_layer_norm": {"reset_after": False, "layer_norm": True},
    "layer_norm_no_bias": {"layer_norm": True, "bias": False},
}
SEQUENCES = {"full": (None, False), "lengths": (LENGTHS, False), "lengths_reverse": (LENGTHS, True)}


def make_cell(options: dict, dtype=torch.float64) -> GRUCell:
    torch.manual_seed(0)
    cell = GRUCell(D, H, **options).to(dtype)
    with torch.no_grad():  # move LayerNorm gains off 1 so that their use is tested too
        for name, p in cell.named_parameters():
            if name.startswith("ln_"):
                p.add_(0.3 * torch.randn_like(p))
    return cell


def inputs(dtype=torch.float64):
    torch.manual_seed(1)
    return torch.randn(T, B, D, dtype=dtype, requires_grad=True), torch.randn(B, H, dtype=dtype, requires_grad=True)


@pytest.mark.parametrize("sequence", SEQUENCES)
@pytest.mark.parametrize("config", CONFIGS)
def test_gradcheck(config, sequence):
    lengths, reverse = SEQUENCES[sequence]
    layer = Recurrent(make_cell(CONFIGS[config]), fused=True, reverse=reverse)
    assert gradcheck_module(layer, *inputs(), None if lengths is None else torch.tensor(lengths))


@pytest.mark.parametrize("dtype, atol", [(torch.float64, 1e-10), (torch.float32, 1e-5)])
@pytest.mark.parametrize("sequence", SEQUENCES)
@pytest.mark.parametrize("config", CONFIGS)
def test_matches_reference(config, sequence, dtype, atol):
    lengths, reverse = SEQUENCES[sequence]
    cell = make_cell(CONFIGS[config], dtype)
    fused = outputs_and_grads(Recurrent(cell, fused=True, reverse=reverse), *inputs(dtype), lengths)
    reference = outputs_and_grads(Recurrent(cell, fused=False, reverse=reverse), *inputs(dtype), lengths)
    names = ["outputs", "state", "x", "h0", *(name for name, _ in cell.named_parameters())]
    assert len(fused) == len(names)
    for name, a, b in zip(names, fused, reference):
        torch.testing.assert_close(a, b, atol=atol, rtol=atol, msg=lambda m: f"{name}: {m}")


@pytest.mark.parametrize("config", CONFIGS)
def test_fused_function_is_used(config, monkeypatch):
    function = gru_bptt.GRUResetAfter if CONFIGS[config].get("reset_after", True) else gru_bptt.GRUResetBefore
    calls = []
    apply = function.apply
    monkeypatch.setattr(function, "apply", lambda *args: calls.append(1) or apply(*args))
    y, _ = Recurrent(make_cell(CONFIGS[config]), fused=True)(*inputs())
    y.sum().backward()
    assert calls == [1]


@pytest.mark.parametrize("config", ["reset_after", "reset_before"])
def test_padded_steps(config):
    cell = make_cell(CONFIGS[config])
    x, h0 = inputs()
    y, h = Recurrent(cell, fused=True)(x, h0, torch.tensor(LENGTHS))
    (y.sum() + h.sum()).backward()
    for b, length in enumerate(LENGTHS):
        assert (x.grad[length:, b] == 0).all()  # no gradient reaches padded inputs
        assert (y[length:, b] == 0).all()  # padded outputs are zero
        alone, last = Recurrent(cell, fused=True)(x[:length, b : b + 1], h0[b : b + 1])
        torch.testing.assert_close(h[b : b + 1], last, atol=1e-12, rtol=0)  # the state after its own last step
        torch.testing.assert_close(y[:length, b : b + 1], alone, atol=1e-12, rtol=0)


def test_matches_torch_gru():
    """reset_after=True is torch.nn.GRU."""
    cell = make_cell({})
    twin = torch.nn.GRU(D, H, dtype=torch.float64)
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
    check_partial_gradients_and_no_grad(make_cell({"layer_norm": True}), *inputs())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("config", CONFIGS)
def test_cuda(config):
    check_cuda_matches_cpu(make_cell(CONFIGS[config]), *inputs(), LENGTHS)
