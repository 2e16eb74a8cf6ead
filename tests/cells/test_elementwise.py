"""ElementwiseCell (IndRNN): gradcheck in float64 and the naive formula."""
import torch
from torch.autograd import gradcheck

from rnnlab.cells.elementwise import ElementwiseCell
from rnnlab.layers.recurrent import Recurrent


def test_gradcheck():
    torch.manual_seed(0)
    cell = ElementwiseCell(3, 4).double()
    x = torch.randn(5, 2, 3, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, 4, dtype=torch.float64, requires_grad=True)
    layer = Recurrent(cell)
    assert gradcheck(lambda x, h0, *ps: layer(x, h0)[0], (x, h0, *cell.parameters()))


def test_matches_the_formula():
    torch.manual_seed(0)
    cell = ElementwiseCell(3, 4, activation="relu")
    x, h = torch.randn(2, 3), torch.randn(2, 4)
    expected = torch.relu(x @ cell.weight_ih.T + cell.bias_ih + cell.weight_hh * h + cell.bias_hh)
    assert torch.allclose(cell(x, h)[0], expected)
