"""No part of a model makes a tensor on the CPU behind the input's back.

A model that builds a mask, a zero state or an index with `torch.zeros(...)` and no `device=`
works on the CPU and fails on the first CUDA run. Without a GPU on the test machine, the "meta"
device catches the same mistake: meta tensors have shapes and no data, and any op that mixes a
meta tensor with a CPU tensor raises "Tensor on device cpu is not on the expected device meta". So
each part below runs forward and backward with its parameters and inputs on meta.

Meta tensors cannot be read, so paths that look at values (length checks, padding masks built from
lengths, token-range checks) are not reached here; they build their tensors from the checked
lengths, which `check_lengths` moves to the input's device (nor is the CRF, whose
lengths mask reads values).
"""
import pytest
import torch

import rnnlab
from rnnlab.cells.registry import cell_names, make_cell
from rnnlab.layers import Bidirectional, Recurrent
from rnnlab.memory.ntm import NTMCell
from rnnlab.seq2seq.attention import AdditiveAttention

META = torch.device("meta")


def meta_input(*shape):
    return torch.randn(*shape, device=META, requires_grad=True)


def backward(out):
    out = out[0] if isinstance(out, tuple) else out
    out.sum().backward()


@pytest.mark.parametrize("name", cell_names())
def test_every_cell_through_recurrent(name):
    layer = Recurrent(make_cell(name, 3, 6)).to(META)
    x = meta_input(5, 2, 3)
    backward(layer(x))
    assert x.grad is not None and x.grad.device == META
    assert all(p.grad is None or p.grad.device == META for p in layer.parameters())


def test_bidirectional_composition():
    layer = Bidirectional(Recurrent(make_cell("gru", 3, 6)), Recurrent(make_cell("gru", 3, 6), reverse=True)).to(META)
    backward(layer(meta_input(5, 2, 3)))


@pytest.mark.parametrize("cls", [rnnlab.RNN, rnnlab.LSTM, rnnlab.GRU])
def test_torch_style_drop_ins(cls):
    m = cls(3, 6, num_layers=2, bidirectional=True).to(META)
    out, h = m(meta_input(5, 2, 3))
    assert out.device == META and (h[0] if isinstance(h, tuple) else h).device == META
    backward(out)


def test_lstm_with_projection_and_initial_state():
    m = rnnlab.LSTM(3, 6, proj_size=4).to(META)
    h0 = torch.zeros(1, 2, 4, device=META), torch.zeros(1, 2, 6, device=META)
    backward(m(meta_input(5, 2, 3), h0))


def test_ntm_cell():
    layer = Recurrent(NTMCell(3, controller_size=8, memory_slots=6, memory_width=4)).to(META)
    backward(layer(meta_input(5, 2, 3)))


def test_additive_attention():
    attention = AdditiveAttention(6, 6, 5).to(META)
    backward(attention(meta_input(2, 6), meta_input(7, 2, 6)))
