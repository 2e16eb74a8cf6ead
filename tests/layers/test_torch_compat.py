"""The same scenarios run against torch.nn and rnnlab's drop-ins, asserting they agree: outputs,
h_n, gradients, second derivatives, batched gradients and torch.func transforms, parameter names
and state_dicts (both ways, through torch.save), attributes, construction checks, exception types,
empty batches, deepcopy / pickling, dropout and train/eval. (Modelled on the RNN tests of
PyTorch's test/test_nn.py and the module tests of common_modules.py.)"""
import copy
import io
import warnings

import pytest
import torch
from torch import nn
from torch.func import functional_call, grad, jacrev, vmap
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnlab

D, H, T, B = 3, 4, 5, 3
LENGTHS = torch.tensor([5, 2, 4])

CONFIGS = [
    ("RNN", dict()),
    ("RNN", dict(nonlinearity="relu", num_layers=2, bidirectional=True)),
    ("LSTM", dict()),
    ("LSTM", dict(num_layers=2, bidirectional=True, proj_size=2)),
    ("LSTM", dict(bias=False, batch_first=True)),
    ("GRU", dict()),
    ("GRU", dict(num_layers=2, batch_first=True, bidirectional=True)),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'plain'}" for name, kw in CONFIGS]


def pair(name, kwargs, dtype=torch.float64):
    """(torch.nn module, rnnlab drop-in) with the same weights, loaded through the state_dict."""
    torch.manual_seed(0)
    ref = getattr(nn, name)(D, H, **kwargs, dtype=dtype)
    ours = getattr(rnnlab, name)(D, H, **kwargs, dtype=dtype)
    ours.load_state_dict(ref.state_dict())
    return ref, ours


def leaves(h):
    return list(h) if isinstance(h, tuple) else [h]


def batch_input(kwargs, dtype=torch.float64, requires_grad=True):
    shape = (B, T, D) if kwargs.get("batch_first") else (T, B, D)
    return torch.randn(*shape, dtype=dtype, requires_grad=requires_grad)


def initial_state(name, kwargs, batch=(B,)):
    L = kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1)
    h = torch.randn(L, *batch, kwargs.get("proj_size") or H, dtype=torch.float64, requires_grad=True)
    return (h, torch.randn(L, *batch, H, dtype=torch.float64, requires_grad=True)) if name == "LSTM" else h


def assert_same(a, b, atol=1e-10):
    for u, v in zip(leaves(a), leaves(b)):
        torch.testing.assert_close(u, v, atol=atol, rtol=0)


@pytest.mark.parametrize("name, kwargs", CONFIGS, ids=IDS)
def test_names_and_state_dict_are_torchs(name, kwargs):
    ref, ours = pair(name, kwargs)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in ref.named_parameters()]
    assert list(ours.state_dict()) == list(ref.state_dict())
    assert ours._flat_weights_names == ref._flat_weights_names
    assert all(a is getattr(ours, n) for a, n in zip(ours._flat_weights, ours._flat_weights_names))
    assert [[w.shape for w in ws] for ws in ours.all_weights] == [[w.shape for w in ws] for ws in ref.all_weights]
    for attr in ("mode", "input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout",
                 "bidirectional", "proj_size"):
        assert getattr(ours, attr) == getattr(ref, attr), attr
    if name == "RNN":
        assert ours.nonlinearity == ref.nonlinearity
    ours.flatten_parameters()


@pytest.mark.parametrize("name, kwargs", CONFIGS, ids=IDS)
@pytest.mark.parametrize("form", ["plain", "state", "packed", "packed_state", "unbatched"])
def test_outputs_and_gradients_agree(name, kwargs, form):
    ref, ours = pair(name, kwargs)
    x = batch_input(kwargs)
    hx = initial_state(name, kwargs) if form in ("state", "packed_state") else None
    if form == "unbatched":
        x = torch.randn(T, D, dtype=torch.float64, requires_grad=True)
        hx = initial_state(name, kwargs, batch=())
    results = []
    for m in (ref, ours):
        inp = x
        if form.startswith("packed"):
            inp = pack_padded_sequence(x, LENGTHS, batch_first=m.batch_first, enforce_sorted=False)
        y, h = m(inp, hx)
        if form.startswith("packed"):
            y = pad_packed_sequence(y, batch_first=m.batch_first)[0]
        wrt = [x, *(leaves(hx) if hx is not None else []), *m.parameters()]
        grads = torch.autograd.grad(y.pow(2).sum() + sum(s.pow(3).sum() for s in leaves(h)), wrt)
        results.append((y, h, grads))
    for a, b in zip(results[0], results[1]):
        assert_same(a, b)


def second_derivatives(m, x):
    """∂/∂(x, θ) of ‖∂‖y‖²/∂x‖² — a gradient of a gradient; checked non-zero, so a path that
    silently drops the second-order terms cannot pass."""
    g, = torch.autograd.grad(m(x)[0].pow(2).sum(), x, create_graph=True)
    out = torch.autograd.grad(g.pow(2).sum(), [x, *m.parameters()])
    assert out[0].abs().sum() > 0
    return out


@pytest.mark.parametrize("name, kwargs", CONFIGS, ids=IDS)
def test_second_derivatives_agree(name, kwargs):
    """The issue's repro: grad of a gradient, equal to torch.nn's in float64 (not silently zero)."""
    ref, ours = pair(name, kwargs)
    x = batch_input(kwargs)
    for a, b in zip(*(second_derivatives(m, x) for m in (ref, ours))):
        torch.testing.assert_close(a, b, atol=1e-8, rtol=1e-8)


@pytest.mark.parametrize("name, kwargs", CONFIGS[:1] + CONFIGS[3:4] + CONFIGS[5:6], ids=[IDS[0], IDS[3], IDS[5]])
def test_gradgradcheck(name, kwargs):
    _, ours = pair(name, kwargs)
    x = batch_input(kwargs)
    params = list(ours.parameters())
    assert torch.autograd.gradgradcheck(lambda x, *ps: (ours(x)[0],), (x, *params))


@pytest.mark.parametrize("name, kwargs", CONFIGS, ids=IDS)
def test_batched_gradients_and_torch_func(name, kwargs):
    ref, ours = pair(name, kwargs)
    x = batch_input(kwargs)
    v = torch.randn(2, *ref(x)[0].shape, dtype=torch.float64)
    a, b = (torch.autograd.grad(m(x)[0], x, v, is_grads_batched=True)[0] for m in (ref, ours))
    assert_same(a, b)
    jac = [jacrev(lambda x: m(x)[0])(x.detach()) for m in (ref, ours)]
    assert_same(*jac)
    # per-sample gradients (Opacus style): torch.func.grad of a functional call, vmapped over the batch
    bdim = 0 if kwargs.get("batch_first") else 1

    def loss(params, xb):
        return functional_call(ours, params, (xb.unsqueeze(bdim),))[0].pow(2).sum()

    params = {k: p.detach() for k, p in ours.named_parameters()}
    per_sample = vmap(grad(loss), in_dims=(None, bdim))(params, x.detach())
    for b_ in range(B):
        xb = x.detach().select(bdim, b_).unsqueeze(bdim)
        expected = torch.autograd.grad(ref(xb)[0].pow(2).sum(), list(ref.parameters()))
        for got, want in zip(per_sample.values(), expected):
            torch.testing.assert_close(got[b_], want, atol=1e-10, rtol=0)
    unbatched = vmap(lambda xb: ours(xb)[0], in_dims=bdim, out_dims=bdim)(x.detach())
    assert_same(unbatched, ours(x)[0])


@pytest.mark.parametrize("name, kwargs", CONFIGS, ids=IDS)
def test_checkpoints_load_both_ways_through_torch_save(name, kwargs):
    ref, _ = pair(name, kwargs)
    ours = getattr(rnnlab, name)(D, H, **kwargs, dtype=torch.float64)
    buf = io.BytesIO()
    torch.save(ref.state_dict(), buf)
    buf.seek(0)
    ours.load_state_dict(torch.load(buf))
    x = batch_input(kwargs, requires_grad=False)
    assert_same(ours(x), ref(x))
    back = getattr(nn, name)(D, H, **kwargs, dtype=torch.float64)
    buf = io.BytesIO()
    torch.save(ours.state_dict(), buf)
    buf.seek(0)
    back.load_state_dict(torch.load(buf))
    assert_same(back(x), ref(x))


def test_old_rnnlab_state_dict_keys_still_load():
    ref, ours = pair("GRU", dict(num_layers=2, bidirectional=True))
    old = {}
    for k in range(2):
        for where, end in (("forward_layer.cell", ""), ("backward_layer.cell", "_reverse")):
            for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                old[f"stack.layers.{k}.{where}.{n}"] = ref.state_dict()[f"{n}_l{k}{end}"]
    fresh = rnnlab.GRU(D, H, num_layers=2, bidirectional=True, dtype=torch.float64)
    fresh.load_state_dict(old)
    x = batch_input({}, requires_grad=False)
    assert_same(fresh(x), ref(x))
    ref = nn.LSTM(D, H)
    plain = rnnlab.LSTM(D, H)
    plain.load_state_dict({f"stack.layers.0.cell.{n.removesuffix('_l0')}": p for n, p in ref.state_dict().items()})
    assert_same(plain(x.float()), ref(x.float()), atol=1e-6)


@pytest.mark.parametrize("norm", ["weight_norm", "parametrization"])
def test_weight_norm_on_a_torch_name(norm):
    ref, ours = pair("LSTM", dict(num_layers=2))
    for m in (ref, ours):
        if norm == "weight_norm":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                nn.utils.weight_norm(m, "weight_hh_l0")
        else:
            nn.utils.parametrizations.weight_norm(m, "weight_hh_l1")
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in ref.named_parameters()]
    with torch.no_grad():  # change the norm: both must see the new weight
        for m in (ref, ours):
            next(p for n, p in m.named_parameters() if n.endswith(("_g", "original0"))).mul_(1.5)
    x = batch_input({})
    outs = [m(x)[0] for m in (ref, ours)]
    assert_same(*outs)
    assert_same(*(torch.autograd.grad(y.sum(), list(m.parameters())) for y, m in zip(outs, (ref, ours))))


@pytest.mark.parametrize("name, kwargs", CONFIGS, ids=IDS)
def test_empty_batch(name, kwargs):
    ref, ours = pair(name, kwargs)
    shape = (0, T, D) if kwargs.get("batch_first") else (T, 0, D)
    x = torch.zeros(*shape, dtype=torch.float64)
    (y_ref, h_ref), (y, h) = ref(x), ours(x)
    assert y.shape == y_ref.shape and [s.shape for s in leaves(h)] == [s.shape for s in leaves(h_ref)]
    (y.sum() + sum(s.sum() for s in leaves(h))).backward()  # in the weights' graph like torch.nn's


@pytest.mark.parametrize("name, kwargs", CONFIGS, ids=IDS)
def test_deepcopy_and_pickling(name, kwargs):
    _, ours = pair(name, kwargs)
    x = batch_input(kwargs, requires_grad=False)
    twin = copy.deepcopy(ours)
    assert all(a is not b for a, b in zip(twin.parameters(), ours.parameters()))
    assert_same(twin(x), ours(x))
    with torch.no_grad():
        twin.weight_hh_l0.add_(1.0)  # the copy's cells read the copy's weights
    assert not torch.allclose(twin(x)[0], ours(x)[0])
    buf = io.BytesIO()
    torch.save(ours, buf)
    buf.seek(0)
    assert_same(torch.load(buf, weights_only=False)(x), ours(x))


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_dropout_assignment_and_train_eval(name):
    ref, ours = pair(name, dict(num_layers=2))
    x = batch_input({}, requires_grad=False)
    for m in (ref, ours):
        m.dropout = 1.0  # assigned after construction: takes effect, as on torch.nn
    y_ref, y = ref(x)[0], ours(x)[0]
    assert_same(y, y_ref)  # the second layer reads zeros in training mode
    for m in (ref, ours):
        m.eval()
    assert_same(ours(x), ref(x))
    assert not torch.allclose(ours(x)[0], y)
    ours.train()
    ours.dropout = 0.5
    torch.manual_seed(1)
    a = ours(x)[0]
    torch.manual_seed(2)
    assert not torch.allclose(a, ours(x)[0])  # stochastic in training mode


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("args, kwargs", [
    ((D, 0), {}), ((D, H), dict(batch_first="False")), ((D, 4.0), {}), ((0, H), {}), ((D, H), dict(num_layers=0)),
    ((D, H), dict(dropout=1.5)), ((D, H), dict(dropout=True)), ((D, H), dict(bias="yes")),
], ids=["hidden0", "batch_first_str", "hidden_float", "input0", "layers0", "dropout_range", "dropout_bool", "bias_str"])
def test_construction_errors_are_torchs(name, args, kwargs):
    with pytest.raises(Exception) as theirs:
        getattr(nn, name)(*args, **kwargs)
    with pytest.raises(Exception) as mine:
        getattr(rnnlab, name)(*args, **kwargs)
    assert isinstance(mine.value, type(theirs.value)), (mine.value, theirs.value)


def test_construction_like_torch():
    for name in ("RNN", "GRU"):
        with pytest.raises(ValueError, match="only supported for LSTM"):
            getattr(rnnlab, name)(D, H, proj_size=2)
    # torch.nn's positional order: (input, hidden, layers, [nonlinearity,] bias, batch_first, dropout, bidirectional)
    for name, nonlinearity in (("RNN", ("relu",)), ("GRU", ()), ("LSTM", ())):
        args = (D, H, 2, *nonlinearity, False, True, 0.25, True)
        ref, ours = getattr(nn, name)(*args), getattr(rnnlab, name)(*args)
        assert [n for n, _ in ours.named_parameters()] == [n for n, _ in ref.named_parameters()]
        assert (ours.bias, ours.batch_first, ours.dropout, ours.bidirectional) == (False, True, 0.25, True)
    assert rnnlab.RNN(D, H, 1, "relu").mode == nn.RNN(D, H, 1, "relu").mode == "RNN_RELU"
    with pytest.raises(ValueError, match="proj_size has to be smaller"):
        rnnlab.LSTM(D, H, proj_size=H)
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        m = rnnlab.GRU(D, H, dropout=1.0)
    assert m.dropout == 1.0
    m = rnnlab.LSTM(D, H, device="cpu", dtype=torch.float64)
    assert all(p.dtype == torch.float64 for p in m.parameters())
    assert m(torch.randn(T, B, D, dtype=torch.float64))[0].dtype == torch.float64


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("case", ["features", "state_shape", "state_dims", "input_dims", "dtype"])
def test_input_errors_are_catchable_as_torchs(name, case):
    ref, ours = pair(name, {})
    x = torch.randn(T, B, D, dtype=torch.float64)
    bad_h = torch.zeros(1, B + 1, H, dtype=torch.float64)
    call = {
        "features": lambda m: m(torch.randn(T, B, D + 1, dtype=torch.float64)),
        "state_shape": lambda m: m(x, (bad_h, bad_h) if name == "LSTM" else bad_h),
        "state_dims": lambda m: m(x, (bad_h[0], bad_h[0]) if name == "LSTM" else bad_h[0]),
        "input_dims": lambda m: m(x.unsqueeze(0)),
        "dtype": lambda m: m(x.float()),
    }[case]
    with pytest.raises(Exception) as theirs:
        call(ref)
    with pytest.raises(type(theirs.value)):
        call(ours)


def test_second_derivatives_through_torchs_lstm_kernel():
    """float32 plain LSTM runs torch's own kernel (lstm_bptt.use_torch_kernel): its double backward
    is torch's, so it agrees with torch.nn.LSTM."""
    ref, ours = pair("LSTM", dict(num_layers=2), dtype=torch.float32)
    x = batch_input({}, dtype=torch.float32)
    for a, b in zip(*(second_derivatives(m, x) for m in (ref, ours))):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
