"""The TDNN layer against an explicit sliding-window reference (with lengths and sub-sampling),
gradchecked in float64; padding never read; the stack and the utterance poolings."""
import pytest
import torch

from rnnlab.errors import ConfigError, DataError
from rnnlab.layers.pooling import make_pooling
from rnnlab.layers.tdnn import TDNN, TDNNLayer


def sliding_window(layer: TDNNLayer, x, lengths):
    """Equation (1) one output frame at a time: per sequence, per centre c = t'·stride, the frames at
    c + o inside [0, L) stacked in offset order (zeros outside), through the layer's weights."""
    T, B, D = x.shape
    T_out = -(-T // layer.stride)
    y = torch.zeros(T_out, B, layer.output_size, dtype=x.dtype)
    for b in range(B):
        L = int(lengths[b])
        for t_out in range(-(-L // layer.stride)):
            c = t_out * layer.stride
            window = [x[c + o, b] if 0 <= c + o < L else torch.zeros(D, dtype=x.dtype) for o in layer.offsets]
            pre = layer.linear.weight @ torch.cat(window) + layer.linear.bias
            y[t_out, b] = torch.relu(pre) if layer.activation == "relu" else torch.tanh(pre)
    return y


@pytest.mark.parametrize("offsets,stride", [((-1, 0, 1), 1), ((-2, 0, 2), 1), ((-3, 0, 3), 3), ((0,), 2),
                                            ((-4, -1, 0, 2), 2)])
def test_equals_the_sliding_window_reference(offsets, stride):
    torch.manual_seed(0)
    layer = TDNNLayer(3, 4, offsets, stride=stride, activation="tanh").double()
    x = torch.randn(9, 3, 3, dtype=torch.float64)
    lengths = torch.tensor([9, 5, 1])
    y, out_lengths = layer(x, lengths)
    torch.testing.assert_close(y, sliding_window(layer, x, lengths))
    assert out_lengths.tolist() == [-(-L // stride) for L in (9, 5, 1)]


def test_padding_is_never_read_and_a_sequence_alone_equals_it_in_a_batch():
    torch.manual_seed(1)
    layer = TDNNLayer(2, 3, (-2, 0, 2)).double()
    x = torch.randn(7, 2, 2, dtype=torch.float64, requires_grad=True)
    poisoned = x.detach().clone()
    poisoned[4:, 1] = float("nan")
    y, _ = layer(poisoned.requires_grad_(), torch.tensor([7, 4]))
    assert torch.isfinite(y).all() and (y[4:, 1] == 0).all()
    y.sum().backward()
    assert (poisoned.grad[4:, 1] == 0).all()
    alone, _ = layer(x[:4, 1:2].detach())
    torch.testing.assert_close(y[:4, 1:2].detach(), alone)


def test_gradcheck_with_lengths_and_subsampling():
    torch.manual_seed(2)
    layer = TDNNLayer(2, 3, (-1, 0, 2), stride=2, activation="tanh").double()
    x = torch.randn(6, 2, 2, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([6, 3])
    params = tuple(layer.parameters())

    def f(x, *ps):
        return torch.func.functional_call(layer, dict(zip(["linear.weight", "linear.bias"], ps)), (x, lengths))[0]

    assert torch.autograd.gradcheck(f, (x, *params))


def test_stack_waibel_windows_and_stats_pooling_gradcheck():
    """Waibel et al.'s 3-frame then 5-frame windows, stacked, then integration over time (stats)."""
    torch.manual_seed(3)
    stack = TDNN.build(3, [(4, (-1, 0, 1)), (3, (-2, -1, 0, 1, 2), 2)], activation="tanh").double()
    pool = make_pooling("stats", stack)
    assert pool.output_width(stack.output_size) == 6 and stack.stride == 2
    x = torch.randn(8, 2, 3, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([8, 5])
    y, out_lengths = stack(x, None, lengths)
    assert y.shape == (4, 2, 3) and out_lengths.tolist() == [4, 3]
    first, l1 = stack.layers[0](x, lengths)
    torch.testing.assert_close(y, stack.layers[1](first, l1)[0])
    names = [n for n, _ in stack.named_parameters()]

    def f(x, *ps):
        out, lens = torch.func.functional_call(stack, dict(zip(names, ps)), (x, None, lengths))
        return pool(out, lens)

    assert torch.autograd.gradcheck(f, (x, *stack.parameters()))


@pytest.mark.parametrize("kind", ["max", "stats"])
def test_utterance_poolings_against_per_sequence_reference(kind):
    torch.manual_seed(4)
    out = torch.randn(6, 3, 4, dtype=torch.float64)
    lengths = torch.tensor([6, 2, 1])
    out[2:, 1] = float("nan")  # padding: must not matter
    pooled = make_pooling(kind, None)(out, lengths)
    for b, L in enumerate(lengths.tolist()):
        real = out[:L, b]
        want = real.max(0).values if kind == "max" else torch.cat([real.mean(0), (real.var(0, unbiased=False) + 1e-5).sqrt()])
        torch.testing.assert_close(pooled[b], want)


def test_bad_configuration_and_input_are_named():
    with pytest.raises(ConfigError, match="distinct and increasing"):
        TDNNLayer(2, 3, (1, 0))
    with pytest.raises(ConfigError, match="stride"):
        TDNNLayer(2, 3, stride=0)
    with pytest.raises(ConfigError, match="gives 4 units but the next reads 5"):
        TDNN([TDNNLayer(2, 4), TDNNLayer(5, 3)])
    with pytest.raises(ValueError, match="expected 2 input features"):
        TDNNLayer(2, 3)(torch.zeros(4, 1, 3))
    with pytest.raises(DataError, match="exceeds the sequence"):
        TDNNLayer(2, 3)(torch.zeros(4, 1, 2), torch.tensor([5]))


def test_record_frames_keeps_every_layers_outputs():
    stack = TDNN.build(2, [(3, (-1, 0, 1)), (2, (0,), 2)])
    stack.record_frames = True
    stack(torch.randn(5, 1, 2))
    assert {k: tuple(v.shape) for k, v in stack.last_frames.items()} == {"layers.0": (5, 1, 3), "layers.1": (3, 1, 2)}
