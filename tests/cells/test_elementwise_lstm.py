"""ElementwiseLSTMCell (Irie et al. 2023): gradcheck in float64, the naive formula, the registry /
`Recurrent` / CLI paths, and that the hand-derived step's sparsity structure covers its nonzeros."""
import json

import torch
from torch.autograd import gradcheck

from rnnlab.cells.elementwise_lstm import ElementwiseLSTMCell
from rnnlab.cells.registry import make_cell
from rnnlab.layers.recurrent import Recurrent
from rnnlab.train.rtrl import hand_derived, step_jacobian


def test_gradcheck():
    torch.manual_seed(0)
    cell = ElementwiseLSTMCell(3, 4).double()
    x = torch.randn(5, 2, 3, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, 4, dtype=torch.float64, requires_grad=True)
    c0 = torch.randn(2, 4, dtype=torch.float64, requires_grad=True)
    layer = Recurrent(cell)
    assert gradcheck(lambda x, h0, c0, *ps: layer(x, (h0, c0))[0], (x, h0, c0, *cell.parameters()))


def test_matches_the_formula_and_has_torch_names():
    torch.manual_seed(0)
    cell = ElementwiseLSTMCell(3, 4, forget_bias=1.0)
    assert {n: tuple(p.shape) for n, p in cell.named_parameters()} == {
        "weight_ih": (16, 3), "weight_hh": (16,), "bias_ih": (16,), "bias_hh": (16,)}
    assert torch.allclose(cell.bias_ih[4:8] + cell.bias_hh[4:8], torch.ones(4))
    x, h, c = torch.randn(2, 3), torch.randn(2, 4), torch.randn(2, 4)
    a = x @ cell.weight_ih.T + cell.bias_ih + cell.bias_hh + cell.weight_hh * torch.cat([h] * 4, 1)
    i, f, g, o = torch.sigmoid(a[:, :4]), torch.sigmoid(a[:, 4:8]), torch.tanh(a[:, 8:12]), torch.sigmoid(a[:, 12:])
    c_new = f * c + i * g
    out, (h_new, c2) = cell(x, (h, c))
    assert torch.allclose(c2, c_new) and torch.allclose(out, o * torch.tanh(c_new)) and torch.equal(out, h_new)


def test_registry_and_recurrent_with_padding():
    torch.manual_seed(0)
    layer = Recurrent(make_cell("elementwise-lstm", 3, 5))
    assert isinstance(layer.cell, ElementwiseLSTMCell) and hand_derived(layer.cell)
    x = torch.randn(6, 2, 3)
    y, (h, c) = layer(x, lengths=torch.tensor([6, 3]))
    assert y.shape == (6, 2, 5) and torch.equal(y[3:, 1], torch.zeros(3, 5)) and torch.equal(h[1], y[2, 1])


def test_hand_kernel_structure_covers_its_nonzeros():
    """The patterns handed to SnAp (D block-diagonal per unit, gate blocks) cover every nonzero of
    the step's D and M̄ (the values themselves are compared with torch.func in test_equality.py)."""
    torch.manual_seed(0)
    cell = ElementwiseLSTMCell(3, 4).double()
    x, s = torch.randn(2, 3, dtype=torch.float64), (torch.randn(2, 4, dtype=torch.float64),
                                                    torch.randn(2, 4, dtype=torch.float64))
    jac = step_jacobian(cell, x, s)
    assert not (jac.D.ne(0).any(0) & ~jac.D_pattern).any()
    for block, pattern in zip(jac.blocks, jac.block_patterns):
        assert not (block.pattern() & ~pattern).any()


def test_cli_trains_it_by_exact_element_wise_rtrl(tmp_path):
    from rnnlab.cli.main import main
    out = tmp_path / "run"
    assert main(["train", "--task", "copy", "--cell", "elementwise-lstm", "--learning", "diag", "--max-steps", "20",
                 "--hidden", "8", "--layers", "1", "--embedding", "4", "--batch-size", "4", "--max-chars", "3000",
                 "--no-progress", "--log-every", "1", "--out", str(out)]) == 0
    rows = map(json.loads, (out / "metrics.jsonl").read_text().splitlines())
    losses = [r["loss"] for r in rows if r["kind"] == "train"]
    assert len(losses) == 20 and all(loss == loss for loss in losses)
