"""rnnlab.RNN / LSTM / GRU give torch.nn's outputs and gradients after `from_torch`, in every
configuration torch.nn has: layers, directions, batch_first, padded batches, initial states."""
import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnlab

D, H, T, B = 5, 6, 7, 4
LENGTHS = torch.tensor([7, 3, 5, 1])

CONFIGS = [
    (nn.LSTM, dict()),
    (nn.LSTM, dict(num_layers=2, bidirectional=True)),
    (nn.LSTM, dict(num_layers=2, proj_size=3)),
    (nn.LSTM, dict(bias=False, batch_first=True)),
    (nn.GRU, dict()),
    (nn.GRU, dict(num_layers=3, bidirectional=True, batch_first=True)),
    (nn.RNN, dict(num_layers=2)),
    (nn.RNN, dict(nonlinearity="relu", bidirectional=True)),
]


def _leaves(h):
    return list(h) if isinstance(h, tuple) else [h]


def _run(module, x, hx, lengths, batch_first):
    if lengths is None:
        return module(x, hx)
    packed = pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=False)
    y, h = module(packed, hx)
    return pad_packed_sequence(y, batch_first=batch_first, total_length=T)[0], h


@pytest.mark.parametrize("cls, kwargs", CONFIGS, ids=lambda c: getattr(c, "__name__", str(c)))
@pytest.mark.parametrize("with_lengths", [False, True], ids=["full", "lengths"])
@pytest.mark.parametrize("dtype, atol", [(torch.float32, 1e-5), (torch.float64, 1e-10)], ids=["f32", "f64"])
@pytest.mark.parametrize("fused", ["auto", False], ids=["fused", "loop"])
def test_outputs_and_gradients_match_torch(cls, kwargs, with_lengths, dtype, atol, fused):
    torch.manual_seed(0)
    ref = cls(D, H, **kwargs).to(dtype)
    ours = rnnlab.from_torch(ref, fused=fused)
    batch_first = kwargs.get("batch_first", False)
    x = torch.randn(*((B, T) if batch_first else (T, B)), D, dtype=dtype, requires_grad=True)
    layers = kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1)
    out_h = kwargs.get("proj_size") or H
    hx = torch.randn(layers, B, out_h, dtype=dtype, requires_grad=True)
    if cls is nn.LSTM:
        hx = (hx, torch.randn(layers, B, H, dtype=dtype, requires_grad=True))
    lengths = LENGTHS if with_lengths else None

    y_ref, h_ref = _run(ref, x, hx, lengths, batch_first)
    y, h = (ours(x, hx) if lengths is None else ours(x, hx, lengths=lengths))
    torch.testing.assert_close(y, y_ref, atol=atol, rtol=0)
    for a, b in zip(_leaves(h), _leaves(h_ref)):
        torch.testing.assert_close(a, b, atol=atol, rtol=0)

    gy = torch.randn_like(y)
    gh = [torch.randn_like(t) for t in _leaves(h)]
    inputs = [x, *_leaves(hx)]
    g_ref = torch.autograd.grad([y_ref, *_leaves(h_ref)], inputs + list(ref.parameters()), [gy, *gh])
    # the drop-in's parameters are torch's, in torch's order
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in ref.named_parameters()]
    g = torch.autograd.grad([y, *_leaves(h)], inputs + list(ours.parameters()), [gy, *gh])
    for a, b in zip(g, g_ref):
        torch.testing.assert_close(a, b, atol=atol * 10, rtol=0)


def test_packed_sequence_input_and_unbatched_input():
    torch.manual_seed(0)
    ref = nn.GRU(D, H, num_layers=2)
    ours = rnnlab.from_torch(ref)
    x = torch.randn(T, B, D)
    packed = pack_padded_sequence(x, LENGTHS, enforce_sorted=False)
    y_ref, h_ref = ref(packed)
    y, h = ours(packed)
    torch.testing.assert_close(pad_packed_sequence(y)[0], pad_packed_sequence(y_ref)[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(h, h_ref, atol=1e-5, rtol=0)
    y1_ref, h1_ref = ref(x[:, 0])
    y1, h1 = ours(x[:, 0])
    torch.testing.assert_close(y1, y1_ref, atol=1e-5, rtol=0)
    torch.testing.assert_close(h1, h1_ref, atol=1e-5, rtol=0)


def test_from_torch_rejects_other_modules():
    with pytest.raises(TypeError, match="expected a torch.nn RNN"):
        rnnlab.from_torch(nn.Linear(2, 3))


def test_torch_style_options_reach_every_cell():
    lstm = rnnlab.LSTM(D, H, num_layers=2, bidirectional=True, peephole=True, layer_norm=True)
    cells = [c for _, c in lstm.cells()]
    assert len(cells) == 4 and all(c.peephole and c.layer_norm for c in cells)
    y, (h, c) = lstm(torch.randn(T, B, D))
    assert y.shape == (T, B, 2 * H) and h.shape == c.shape == (4, B, H)
    assert rnnlab.GRU(D, H, reset_after=False).cells()[0][1].reset_after is False
    assert rnnlab.RNN(D, H, nonlinearity="relu").cells()[0][1].activation == "relu"


def test_options_torch_lacks_keep_their_cells_names_after_torchs():
    lstm = rnnlab.LSTM(D, H, peephole=True, layer_norm=True, forget_bias=1.0)
    names = [n for n, _ in lstm.named_parameters()]
    assert names[:4] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    assert "stack.layers.0.cell.weight_ci" in names and "stack.layers.0.cell.ln_c.weight" in names
    assert len(names) == len(set(id(p) for p in lstm.parameters()))  # nothing listed twice
    lstm.reset_parameters()  # torch's U(-1/√H, 1/√H) for torch's weights, the cells' own init for the rest
    cell = lstm.cells()[0][1]
    assert torch.equal(cell.ln_c.weight, torch.ones(H))
    assert torch.equal((lstm.bias_ih_l0 + lstm.bias_hh_l0)[H:2 * H], torch.ones(H))
    assert lstm.weight_hh_l0.abs().max() <= H ** -0.5
