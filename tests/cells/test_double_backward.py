"""Second derivatives and batched gradients through every cell and wrapper, on the fused and the
step path: gradgradcheck in float64, and the fused kernels' second derivatives equal to the step
path's (never silently zero)."""
import pytest
import torch
from torch.autograd import gradgradcheck
from torch.func import functional_call, grad, jacrev, vmap
from torch.utils._pytree import tree_leaves

from rnnlab.cells import registry
from rnnlab.cells.deep import DeepOutput, DeepTransition
from rnnlab.cells.elman import ElmanCell
from rnnlab.cells.feedforward import FeedForwardCell
from rnnlab.cells.gru import GRUCell
from rnnlab.cells.lstm import LSTMCell
from rnnlab.cells.recurrent_dropout import RecurrentDropout
from rnnlab.cells.residual import ResidualCell
from rnnlab.cells.skip import SkipCell
from rnnlab.cells.zoneout import Zoneout
from rnnlab.layers import Recurrent

D, H, T, B = 3, 4, 4, 2
LENGTHS = torch.tensor([4, 2])

EXTRA = {
    "gru-cho-layernorm": lambda: GRUCell(D, H, reset_after=False, layer_norm=True),
    "gru-nobias": lambda: GRUCell(D, H, bias=False),
    "lstm-all": lambda: LSTMCell(D, H + 1, peephole=True, layer_norm=True, proj_size=H, candidate_activation="relu"),
    "lstm-proj": lambda: LSTMCell(D, H + 1, proj_size=H),
    "feedforward": lambda: FeedForwardCell(D, H),
    "deep-transition": lambda: DeepTransition(ElmanCell(D, H), depth=1),
    "deep-output": lambda: DeepOutput(GRUCell(D, H), sizes=[H]),
    "residual": lambda: ResidualCell(ElmanCell(H, H)),
    "skip": lambda: SkipCell(LSTMCell(D, H), delay=2),
    # stochastic wrappers in eval mode (deterministic: gradgradcheck re-runs the function)
    "zoneout": lambda: Zoneout(LSTMCell(D, H), p=0.2).eval(),
    "recurrent-dropout": lambda: RecurrentDropout(GRUCell(D, H), p=0.2).eval(),
}
FACTORIES = {name: (lambda name=name: registry.make_cell(name, D, H)) for name in registry.cell_names()} | EXTRA


def _layer(name, fused, reverse=False):
    torch.manual_seed(0)
    return Recurrent(FACTORIES[name](), fused=fused, reverse=reverse).double()


def _flat(y, state):
    """y and the floating leaves of a (nested) state: what gradgradcheck differentiates."""
    return (y, *(s for s in tree_leaves(state) if s.is_floating_point()))


def _inputs(layer):
    x = torch.randn(T, B, layer.input_size, dtype=torch.float64, requires_grad=True)
    return x, [p for p in layer.parameters() if p.requires_grad]


@pytest.mark.parametrize("fused", ["auto", False])
@pytest.mark.parametrize("name", list(FACTORIES))
def test_gradgradcheck_every_cell(name, fused):
    layer = _layer(name, fused)
    x, params = _inputs(layer)
    # gradgradcheck perturbs the parameters in place, which the layer reads
    assert gradgradcheck(lambda x, *ps: _flat(*layer(x)), (x, *params))


@pytest.mark.parametrize("name", ["elman", "gru", "gru-cho-layernorm", "lstm", "lstm-all"])
def test_gradgradcheck_with_padding_and_reverse(name):
    layer = _layer(name, "auto", reverse=True)
    x, params = _inputs(layer)
    assert gradgradcheck(lambda x, *ps: _flat(*layer(x, lengths=LENGTHS)), (x, *params))


def _second_derivative(layer, x, lengths=None):
    y, _ = layer(x, lengths=lengths)
    g, = torch.autograd.grad(y.pow(2).sum(), x, create_graph=True)
    return torch.autograd.grad(g.pow(2).sum(), [x, *layer.parameters()])


@pytest.mark.parametrize("name", list(FACTORIES))
@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "padded"])
def test_fused_second_derivative_equals_step_path(name, lengths):
    fused, stepped = _layer(name, "auto"), _layer(name, False)
    x = torch.randn(T, B, D if name != "residual" else H, dtype=torch.float64, requires_grad=True)
    a, b = _second_derivative(fused, x, lengths), _second_derivative(stepped, x, lengths)
    assert a[0].abs().sum() > 0  # never silently zero
    for u, v in zip(a, b):
        torch.testing.assert_close(u, v, atol=1e-10, rtol=1e-8)


@pytest.mark.parametrize("name", ["elman", "gru", "gru-cho-layernorm", "lstm-all"])
def test_batched_gradients_through_fused_kernels(name):
    fused, stepped = _layer(name, "auto"), _layer(name, False)
    x = torch.randn(T, B, D, dtype=torch.float64, requires_grad=True)
    outs = [layer(x, lengths=LENGTHS)[0] for layer in (fused, stepped)]
    v = torch.randn(3, *outs[0].shape, dtype=torch.float64)
    a, b = (torch.autograd.grad(y, x, v, retain_graph=True, is_grads_batched=True)[0] for y in outs)
    torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-10)
    loop = torch.stack([torch.autograd.grad(outs[1], x, v[k], retain_graph=True)[0] for k in range(3)])
    torch.testing.assert_close(a, loop, atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("name", ["elman", "gru-cho-layernorm", "lstm-all", "deep-output"])
def test_torch_func_transforms_through_recurrent(name):
    """vmap, jacrev and per-sample grad (torch.func) take the step path; they agree with the
    plain-autograd results of the same layer."""
    layer = _layer(name, "auto")
    x = torch.randn(T, B, D, dtype=torch.float64)
    lengths = LENGTHS

    def run(x):
        return layer(x, lengths=lengths)[0]

    jac = jacrev(run)(x)
    xr = x.clone().requires_grad_()
    y = run(xr)
    rows = [torch.autograd.grad(y.reshape(-1)[k], xr, retain_graph=True)[0] for k in range(y.numel())]
    torch.testing.assert_close(jac.reshape(y.numel(), -1), torch.stack(rows).reshape(y.numel(), -1))
    lengths = None
    torch.testing.assert_close(vmap(run, in_dims=1, out_dims=1)(x.unsqueeze(2)).squeeze(2), run(x))
    params = {k: p.detach() for k, p in layer.named_parameters()}

    def loss(params, xb):
        return functional_call(layer, params, (xb.unsqueeze(1),))[0].pow(2).sum()

    per_sample = vmap(grad(loss), in_dims=(None, 1))(params, x)
    for b in range(B):
        want = torch.autograd.grad(layer(x[:, b : b + 1])[0].pow(2).sum(), list(layer.parameters()))
        for got, w in zip(per_sample.values(), want):
            torch.testing.assert_close(got[b], w)
