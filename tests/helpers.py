"""Shared test helpers: gradcheck over a module's inputs *and* parameters."""
from __future__ import annotations

import torch
from torch.utils import _pytree as pytree


def gradcheck_module(module, *args, seed: int | None = None, **kwargs) -> bool:
    """torch.autograd.gradcheck of module(*args, **kwargs) in float64 w.r.t. every floating
    tensor in args (nested states included) and every parameter of the module.

    `seed` re-seeds torch before each evaluation so stochastic modules (zoneout, dropout)
    draw the same noise every time.
    """
    module = module.double()
    names = [n for n, _ in module.named_parameters()]
    params = [p.detach().clone().double().requires_grad_() for _, p in module.named_parameters()]
    flat, spec = pytree.tree_flatten(args)
    is_var = [torch.is_tensor(t) and t.is_floating_point() for t in flat]
    variables = [t.detach().clone().double().requires_grad_() for t, v in zip(flat, is_var) if v]

    def f(*inputs):
        ps, vs = inputs[: len(params)], iter(inputs[len(params) :])
        call_args = pytree.tree_unflatten([next(vs) if v else t for t, v in zip(flat, is_var)], spec)
        if seed is not None:
            torch.manual_seed(seed)
        out = torch.func.functional_call(module, dict(zip(names, ps)), call_args, kwargs)
        return tuple(t for t in pytree.tree_leaves(out) if torch.is_tensor(t) and t.is_floating_point())

    return torch.autograd.gradcheck(f, (*params, *variables), eps=1e-6, atol=1e-6, rtol=1e-4)


def grads(module, loss_fn, *inputs):
    """Gradients of loss_fn() w.r.t. inputs and module parameters, as a list (None → zeros)."""
    params = list(module.parameters())
    out = torch.autograd.grad(loss_fn(), [*inputs, *params], allow_unused=True)
    return [torch.zeros_like(t) if g is None else g for g, t in zip(out, [*inputs, *params])]


def outputs_and_grads(layer, x, h0, lengths):
    """Outputs, final state and the gradients of a random function of both w.r.t. x, h0 and every
    parameter, for a layer whose state is one tensor."""
    y, h = layer(x, h0, None if lengths is None else torch.tensor(lengths))
    torch.manual_seed(2)
    loss = (y * torch.randn_like(y)).sum() + (h * torch.randn_like(h)).sum()
    return [y, h, *torch.autograd.grad(loss, [x, h0, *layer.parameters()])]


def load_script(path):
    """Import a script that is not part of the package (bench/, examples/) as a module."""
    import importlib.util
    import sys
    from pathlib import Path
    path = Path(path)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def check_partial_gradients_and_no_grad(cell, x, h0) -> None:
    """The fused path with only some inputs needing a gradient, and without autograd, equals the loop.

    x (T, B, D) float64 and h0 (B, H) requiring grad; the cell's weight_hh is frozen for the test.
    """
    from rnnlab import Recurrent
    layer = Recurrent(cell, fused=True, batch_first=True)
    cell.weight_hh.requires_grad_(False)
    y, h = layer(x.detach().transpose(0, 1), h0)
    gh0, gw = torch.autograd.grad(y.sum() + h.sum(), [h0, cell.weight_ih])
    y_ref, h_ref = Recurrent(cell, fused=False, batch_first=True)(x.detach().transpose(0, 1), h0)
    gh0_ref, gw_ref = torch.autograd.grad(y_ref.sum() + h_ref.sum(), [h0, cell.weight_ih])
    torch.testing.assert_close(gh0, gh0_ref, atol=1e-10, rtol=0)
    torch.testing.assert_close(gw, gw_ref, atol=1e-10, rtol=0)
    with torch.no_grad():
        y, h = layer(x.transpose(0, 1), h0)
    torch.testing.assert_close(y, y_ref.detach(), atol=1e-12, rtol=0)


def check_cuda_matches_cpu(cell, x, h0, lengths) -> None:
    """The fused path on CUDA gives the CPU reference loop's outputs and gradients."""
    from rnnlab import Recurrent
    reference = outputs_and_grads(Recurrent(cell, fused=False), x, h0, lengths)
    cell = cell.cuda()
    x, h0 = (v.detach().cuda().requires_grad_() for v in (x, h0))
    fused = outputs_and_grads(Recurrent(cell, fused=True), x, h0, lengths)
    for a, b in zip(fused, reference):
        torch.testing.assert_close(a.cpu(), b, atol=1e-10, rtol=1e-10)
