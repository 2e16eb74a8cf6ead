"""Step Jacobians of any cell from torch.func: per-row reverse-mode Jacobians (vmap ∘ jacrev).

For a cell without hand-derived Jacobians (wrappers such as LeakyCell or Clockwork, stacks of
cells, layer-normalised or projected LSTMs, custom cells) the step function
    (θ, x_t, s_{t−1}) ↦ z_t = [floating leaves of s_t; out_t]
is differentiated by `torch.func.jacrev`, vmapped over the batch, so every rnnlab cell can be
trained by RTRL. Integer leaves (a clockwork's step counter) are carried, not differentiated.
out_t gets its own rows below the state (R = S + O): nothing assumes it is one of the leaves.
Cost: R reverse passes per row and step, on top of the RTRL recursion itself.
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.func import functional_call, jacrev, vmap

from rnnlab.cells._state import State, leaves
from rnnlab.errors import ConfigError
from rnnlab.train.rtrl.jacobian import Full, StepJacobian


def float_leaves(state: State) -> list[Tensor]:
    return [leaf for leaf in leaves(state) if leaf.is_floating_point()]


def flatten_state(state: State) -> Tensor:
    """The floating leaves of a state, depth first, side by side: (B, S)."""
    return torch.cat(float_leaves(state), 1)


def rebuild_state(template: State, flat: Tensor, ints: list[Tensor] | None = None) -> State:
    """`template`'s structure with its floating leaves read from `flat` (B, S) in order and its
    integer leaves from `ints` (default: the template's own)."""
    pos, k = [0], [0]
    ints = [leaf for leaf in leaves(template) if not leaf.is_floating_point()] if ints is None else ints

    def walk(node):
        if isinstance(node, Tensor):
            if node.is_floating_point():
                w = node.shape[-1]
                out = flat[..., pos[0]:pos[0] + w]
                pos[0] += w
                return out
            k[0] += 1
            return ints[k[0] - 1]
        return tuple(walk(part) for part in node)
    return walk(template)


def generic_step(cell, x: Tensor, state: State) -> StepJacobian:
    out, new = cell(x, state)
    names = [n for n, _ in cell.named_parameters()]
    params = {n: p for n, p in cell.named_parameters()}
    buffers = dict(cell.named_buffers())
    ints = [leaf for leaf in leaves(state) if not leaf.is_floating_point()]

    def z_of(p, xb, sb, ib):
        st = rebuild_state(state, sb.unsqueeze(0), [i.unsqueeze(0) for i in ib])
        o, s = functional_call(cell, (p, buffers), (xb.unsqueeze(0), st))
        return torch.cat([flatten_state(s)[0], o[0]])

    try:
        dp, dx, ds = vmap(jacrev(z_of, argnums=(0, 1, 2)), in_dims=(None, 0, 0, 0))(
            params, x, flatten_state(state), ints)
    except RuntimeError as e:
        if "random" in str(e).lower():
            raise ConfigError(f"RTRL: {type(cell).__name__} draws random numbers at every step (dropout, zoneout); "
                              "train it with BPTT, or put the model in eval mode") from None
        raise
    S, O = ds.shape[2], out.shape[1]
    blocks = [Full(dp[n].flatten(2)) for n in names]
    return StepJacobian(out, new, ds, dx, blocks, slice(S, S + O))
