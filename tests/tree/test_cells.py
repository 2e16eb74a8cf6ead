"""Every tree cell: float64 gradcheck of one combine step (inputs, children's states, weights),
absent children contributing nothing, and the contract's shapes."""
import pytest
import torch

from rnnlab.tree.registry import TREE_CELLS, make_tree_cell

NAMES = list(TREE_CELLS)


def _inputs(cell, M=3, K=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(M, cell.input_size, generator=g, dtype=torch.float64)
    children = tuple(torch.randn(M, K, cell.hidden_size, generator=g, dtype=torch.float64)
                     for _ in range(cell.state_parts))
    mask = torch.tensor([[True, True], [True, False], [False, False]])[:M, :K]
    children = tuple(torch.where(mask.unsqueeze(-1), c, torch.zeros(())) for c in children)  # the layer's promise
    return x, children, mask


@pytest.mark.parametrize("name", NAMES)
def test_gradcheck(name):
    torch.manual_seed(0)
    cell = make_tree_cell(name, 3, 4).double()
    x, children, mask = _inputs(cell)
    x.requires_grad_(True)
    children = tuple(c.requires_grad_(True) for c in children)
    params = list(cell.parameters())

    def f(x, *rest):
        kids = rest[:cell.state_parts]
        return cell(x, kids, mask)

    assert torch.autograd.gradcheck(f, (x, *children), eps=1e-6, atol=1e-6)
    # and with respect to every weight
    values = [p.detach().clone().requires_grad_(True) for p in params]
    assert torch.autograd.gradcheck(
        lambda *vs: torch.func.functional_call(cell, {n: v for (n, _), v in zip(cell.named_parameters(), vs)},
                                               (x.detach(), tuple(c.detach() for c in children), mask)),
        tuple(values), eps=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_contract_shapes_and_internals(name):
    cell = make_tree_cell(name, 3, 4).double()
    x, children, mask = _inputs(cell)
    state, internals = cell.step(x, children, mask)
    assert len(state) == cell.state_parts and all(s.shape == (3, 4) for s in state)
    assert set(internals) == set(cell.internals)


@pytest.mark.parametrize("name", NAMES)
def test_leaf_ignores_absent_children_slots(name):
    """A leaf (mask all False, zero children) gives the same state with one or two zero slots."""
    cell = make_tree_cell(name, 3, 4).double()
    x = torch.randn(2, 3, dtype=torch.float64)
    one = tuple(torch.zeros(2, 1, 4, dtype=torch.float64) for _ in range(cell.state_parts))
    two = tuple(torch.zeros(2, 2, 4, dtype=torch.float64) for _ in range(cell.state_parts))
    a = cell(x, one, torch.zeros(2, 1, dtype=torch.bool))
    b = cell(x, two, torch.zeros(2, 2, dtype=torch.bool))
    for s, t in zip(a, b):
        torch.testing.assert_close(s, t)


def test_socher_2011_equation():
    """The recursive net is tanh(W[h_l; h_r] + W_x x + b) exactly."""
    cell = make_tree_cell("rnn", 3, 4).double()
    x, children, mask = _inputs(cell)
    h = cell(x, children, mask)[0]
    hl, hr = children[0][:, 0], children[0][:, 1]
    W, b = cell.combine.weight, cell.combine.bias
    torch.testing.assert_close(h, torch.tanh(torch.cat([hl, hr], 1) @ W.T + x @ cell.input.weight.T + b))


def test_rntn_tensor_term():
    cell = make_tree_cell("rntn", 3, 4).double()
    x, children, mask = _inputs(cell)
    _, internals = cell.step(x, children, mask)
    c = children[0].reshape(3, -1)
    for k in range(4):
        torch.testing.assert_close(internals["tensor"][:, k], ((c @ cell.V[k]) * c).sum(1))


def test_rntn_keeps_no_copy_of_its_tensor_for_backward():
    """A step saves V itself for backward, never a V-sized copy: the node-by-node schedule makes one
    step per node, and a copy per step (torch.einsum's permuted V) ran out of memory on SST trees."""
    cell = make_tree_cell("rntn", 5, 6)
    x, children, mask = _inputs(cell)
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        cell(x.float().requires_grad_(True), tuple(c.float().requires_grad_(True) for c in children), mask)
    assert saved
    big = [t for t in saved if t.numel() >= cell.V.numel()]
    assert all(t.untyped_storage().data_ptr() == cell.V.untyped_storage().data_ptr() for t in big)


def test_bad_sizes():
    with pytest.raises(ValueError, match="hidden_size"):
        make_tree_cell("tree-lstm", 3, 0)
    from rnnlab.errors import ConfigError
    with pytest.raises(ConfigError, match="unknown tree cell"):
        make_tree_cell("nope", 3, 4)
