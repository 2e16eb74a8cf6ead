"""The compiled time loops (rnnlab/cells/_compiled) against the Python loops they replace.

Both paths fill the same buffers, so they must agree to rounding: float64 to 1e-12, float32 to
float32 tolerances (and both within reach of float64). Every gradcheck and torch.nn parity case of
the cells' own test files runs on the default path there (compiled where it is built); here the
same cases run again on the path not taken by default, so each runs on both. Where a compiler and
ninja exist (this machine, CI) the compiled path must build, so CI exercises it.
"""
from __future__ import annotations

import contextlib
import os
import shutil

import pytest
import torch

import rnnlab.cells._compiled as compiled
from rnnlab import ElmanCell, GRUCell, LSTMCell, Recurrent
from rnnlab.cells import elman_bptt, gru_bptt, lstm_bptt
from rnnlab.cells._compiled import python_path
from tests.cells import test_elman_bptt, test_gru_bptt, test_lstm_bptt
from tests.layers import test_torch_parity

T, B, D, H = 5, 3, 3, 8  # H = 8: float32 LayerNorm over < 8 units keeps to the Python loops
LENGTHS = [T, 2, 1]

CONFIGS = {
    **{f"elman_{a}": (ElmanCell, dict(activation=a)) for a in ("tanh", "relu", "sigmoid", "identity")},
    "elman_no_bias": (ElmanCell, dict(bias=False)),
    "gru": (GRUCell, {}),
    "gru_reset_before": (GRUCell, dict(reset_after=False)),
    "gru_layer_norm": (GRUCell, dict(layer_norm=True)),
    "gru_reset_before_layer_norm": (GRUCell, dict(reset_after=False, layer_norm=True)),
    "gru_no_bias": (GRUCell, dict(bias=False)),
    "lstm": (LSTMCell, {}),
    "lstm_peephole": (LSTMCell, dict(peephole=True)),
    "lstm_sigmoid_relu": (LSTMCell, dict(candidate_activation="sigmoid", state_activation="relu")),
    "lstm_relu_identity": (LSTMCell, dict(candidate_activation="relu", state_activation="identity")),
    "lstm_layer_norm": (LSTMCell, dict(layer_norm=True)),
    "lstm_layer_norm_no_bias": (LSTMCell, dict(layer_norm=True, bias=False)),
    "lstm_proj": (LSTMCell, dict(proj_size=3)),
    "lstm_no_bias": (LSTMCell, dict(bias=False)),
    "lstm_everything": (LSTMCell, dict(peephole=True, layer_norm=True, proj_size=5, state_activation="sigmoid")),
}
SEQUENCES = {"full": (None, False), "lengths": (LENGTHS, False), "lengths_reverse": (LENGTHS, True)}
needs_build = pytest.mark.skipif(not compiled.available(), reason="compiled kernels not built (no compiler)")


def make_cell(config: str, dtype, seed: int = 0):
    torch.manual_seed(seed)
    cls, options = CONFIGS[config]
    cell = cls(D, H, **options)
    with torch.no_grad():  # move gains, shifts and peepholes off their initial values
        for p in cell.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return cell.to(dtype)


def run(cell, dtype, lengths, reverse):
    """Outputs, final state and the gradients of a weighted sum of them w.r.t. x, the state and every parameter."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(T, B, D, generator=g, dtype=torch.float64).to(dtype).requires_grad_()
    state = [torch.randn(s.shape, generator=g, dtype=torch.float64).to(dtype).requires_grad_()
             for s in torch.utils._pytree.tree_leaves(cell.init_state(B, dtype=dtype))]
    layer = Recurrent(cell, fused=True, reverse=reverse)
    y, final = layer(x, state[0] if len(state) == 1 else tuple(state), None if lengths is None else torch.tensor(lengths))
    outs = [y, *torch.utils._pytree.tree_leaves(final)]
    loss = sum((v * torch.randn(v.shape, generator=g, dtype=torch.float64).to(dtype)).sum() for v in outs)
    params = [p for p in cell.parameters() if p.requires_grad]
    return outs + list(torch.autograd.grad(loss, [x, *state, *params]))


@pytest.fixture
def taken(monkeypatch):
    """Which path each kernel call took: counts of 'compiled' and 'python' choices."""
    counts = {"compiled": 0, "python": 0}
    for module in (elman_bptt, gru_bptt, lstm_bptt):
        def counted(x, *args, _kernels=module.kernels):
            ops = _kernels(x, *args)
            counts["python" if ops is None else "compiled"] += 1
            return ops
        monkeypatch.setattr(module, "kernels", counted)
    monkeypatch.setattr(lstm_bptt, "use_torch_kernel", lambda cell, x, mask: False)  # ours, not oneDNN
    return counts


def test_builds_where_a_compiler_is():
    """CI has g++ and ninja: there the compiled path must build (a broken build fails here)."""
    if not (shutil.which("g++") or shutil.which("c++")) or not shutil.which("ninja"):
        pytest.skip("no compiler or ninja here")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(compiled.ENV, raising=False)
        assert compiled.available(), compiled._state["error"]


@needs_build
@pytest.mark.parametrize("sequence", SEQUENCES)
@pytest.mark.parametrize("config", CONFIGS)
def test_compiled_equals_python_float64(config, sequence, taken):
    lengths, reverse = SEQUENCES[sequence]
    cell = make_cell(config, torch.float64)
    ours = run(cell, torch.float64, lengths, reverse)
    assert taken == {"compiled": 2, "python": 0}  # forward and backward, both compiled
    with python_path():
        reference = run(cell, torch.float64, lengths, reverse)
    assert taken["python"] == 2
    for k, (a, b) in enumerate(zip(ours, reference)):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-12, msg=lambda m: f"tensor {k}: {m}")


@needs_build
@pytest.mark.parametrize("config", CONFIGS)
def test_compiled_equals_python_float32(config, taken):
    """float32: the two paths round differently; both stay as close to float64 as float32 allows."""
    lengths, reverse = SEQUENCES["lengths_reverse"]
    cell = make_cell(config, torch.float32)
    ours = run(cell, torch.float32, lengths, reverse)
    assert taken == {"compiled": 2, "python": 0}
    with python_path():
        reference = run(cell, torch.float32, lengths, reverse)
    exact = run(cell.double(), torch.float64, lengths, reverse)
    for k, (a, b, c) in enumerate(zip(ours, reference, exact)):
        scale = c.abs().max().item() + 1e-3
        torch.testing.assert_close(a, b, atol=2e-5 * scale, rtol=1e-4, msg=lambda m: f"tensor {k}: {m}")
        assert (a.double() - c).abs().max() <= 2e-5 * scale, f"tensor {k}: compiled float32 far from float64"


@needs_build
@pytest.mark.parametrize("frozen", ["bias_ih", "bias_hh", "both"])
@pytest.mark.parametrize("config", ["elman_tanh", "gru", "gru_layer_norm", "lstm", "lstm_layer_norm"])
def test_compiled_equals_python_with_frozen_biases(config, frozen, taken):
    """The compiled loops add the biases and sum their gradients themselves; with a bias frozen
    (no gradient asked for) the other gradients are unchanged."""
    cell = make_cell(config, torch.float64)
    for name in (["bias_ih", "bias_hh"] if frozen == "both" else [frozen]):
        getattr(cell, name).requires_grad_(False)
    ours = run(cell, torch.float64, *SEQUENCES["lengths"])
    assert taken == {"compiled": 2, "python": 0}
    with python_path():
        reference = run(cell, torch.float64, *SEQUENCES["lengths"])
    for k, (a, b) in enumerate(zip(ours, reference)):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-12, msg=lambda m: f"tensor {k}: {m}")


@needs_build
def test_batch_one_step_by_step():
    """Generation runs one step of one sequence at a time: T = B = 1 through both paths."""
    cell = make_cell("lstm_peephole", torch.float64)
    x = torch.randn(1, 1, D, dtype=torch.float64)
    state = cell.init_state(1, dtype=torch.float64)
    y, (h, c) = Recurrent(cell)(x, state)
    with python_path():
        y_ref, (h_ref, c_ref) = Recurrent(cell)(x, state)
    for a, b in ((y, y_ref), (h, h_ref), (c, c_ref)):
        torch.testing.assert_close(a, b, atol=1e-14, rtol=0)


def test_no_compiler_says_so_once_and_runs_python(monkeypatch, capsys):
    """A failed build: one line on stderr, once, then the Python loops run everything."""
    def fail():
        raise RuntimeError("Ninja is required to load C++ extensions")
    monkeypatch.setattr(compiled, "build", fail)
    monkeypatch.setattr(compiled, "_state", {"ops": None, "tried": False, "error": None, "forced_off": 0})
    monkeypatch.delenv(compiled.ENV, raising=False)
    cell = make_cell("gru", torch.float64)
    first = run(cell, torch.float64, LENGTHS, False)
    second = run(cell, torch.float64, LENGTHS, False)
    err = capsys.readouterr().err
    assert err.count("rnnlab: compiled RNN kernels unavailable") == 1 and err.count("\n") == 1, err
    assert "Ninja is required" in err
    for a, b in zip(first, second):
        torch.testing.assert_close(a, b, atol=0, rtol=0)


def test_environment_variable_forces_python(monkeypatch, taken):
    monkeypatch.setenv(compiled.ENV, "0")
    run(make_cell("elman_tanh", torch.float64), torch.float64, None, False)
    assert taken == {"compiled": 0, "python": 2}


@needs_build
@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="no oneDNN in this torch")
def test_plain_lstm_kernel_by_size_class(monkeypatch):
    """The plain float32 LSTM runs ours where it measured faster than oneDNN (on AMD H ≤ 256 with
    B·H ≥ 8192; on Intel everywhere), oneDNN elsewhere, and oneDNN whenever the compiled path is off
    (the Python loops are slow)."""
    def torch_kernel(B, H):
        return lstm_bptt.use_torch_kernel(LSTMCell(4, H), torch.zeros(2, B, 4), None)

    assert not torch_kernel(32, 256) and not torch_kernel(64, 128) and not torch_kernel(128, 256)
    # elsewhere oneDNN on AMD (MKL's generic sgemm under our loops); ours at every size on Intel
    amd = compiled.mkl_generic()
    for B, H in [(16, 256), (32, 128), (1, 128), (16, 512), (1, 1024), (32, 1024), (128, 1024)]:
        assert torch_kernel(B, H) == amd, (B, H)
    monkeypatch.setenv(compiled.ENV, "0")
    assert torch_kernel(32, 256)


def test_plain_lstm_one_step_without_grad_runs_ours(monkeypatch):
    """Generation's case (T = 1, no autograd) runs ours at every size (oneDNN's per-call setup
    dominates there); with autograd, or T > 1, the size classes above decide; compiled off → oneDNN."""
    def torch_kernel(T, B, H):
        return lstm_bptt.use_torch_kernel(LSTMCell(4, H), torch.zeros(T, B, 4), None)

    with torch.no_grad():
        assert not torch_kernel(1, 1, 128) and not torch_kernel(1, 1, 1024) and not torch_kernel(1, 16, 256)
        assert torch_kernel(2, 1, 128) == compiled.mkl_generic()  # (Intel: ours at every size)
    with torch.inference_mode():
        assert not torch_kernel(1, 1, 256)
    assert torch_kernel(1, 1, 128) == compiled.mkl_generic()  # grad enabled: a training step, size classes
    monkeypatch.setenv(compiled.ENV, "0")
    with torch.no_grad():
        assert torch_kernel(1, 1, 128)


# --- the step products' BLAS / oneDNN choice (rnn_kernels.cpp, `onednn_wins`) ---

onednn_usable = pytest.mark.skipif(
    not compiled.available() or not torch.backends.mkldnn.is_available() or os.environ.get("RNNLAB_ONEDNN_GEMM") == "0",
    reason="compiled kernels not built, or no oneDNN in this torch",
)


@onednn_usable
def test_step_products_go_to_onednn_where_it_measured_faster():
    """(B, K, N, op(W)) of a step's product, per CPU (bench/gemm_backends.py, docs/speed.md)."""
    backend = compiled.load().gemm_backend  # (transpose A, transpose W, B, N, K)
    for H in (128, 256, 512, 1024):
        assert backend(False, True, 1, 4 * H, H) == 0 and backend(False, False, 1, H, 4 * H) == 0  # batch 1
    assert backend(False, True, 16, 512, 128) == 0 and backend(False, True, 32, 1024, 256) == 0  # small, medium fwd
    assert backend(False, True, 16, 2048, 512) == 1 and backend(False, True, 128, 4096, 1024) == 1  # large fwd
    assert backend(True, False, 1024, 320, 3200) == 0  # products over all T·B rows stay with torch
    if compiled.mkl_generic():  # AMD: oneDNN also for the medium backward and every product from H = 512, B = 16
        assert backend(False, False, 32, 256, 1024) == 1 and backend(False, False, 32, 256, 768) == 1
        assert backend(False, False, 16, 512, 2048) == 1
    else:  # Intel: MKL's AVX-512 sgemm keeps the backward, except H = 1024 at B ≥ 128
        assert backend(False, False, 32, 256, 1024) == 0 and backend(False, False, 128, 512, 2048) == 0
        assert backend(False, False, 64, 1024, 4096) == 0 and backend(False, False, 128, 1024, 4096) == 1


def test_avx512_switch(monkeypatch):
    """RNNLAB_AVX512 forces the 512-bit build flags on or off; anything but 0 / 1 is an error that
    names it (a failed build falls back to the Python path and says why)."""
    flag = "-mavx512f"
    monkeypatch.setenv("RNNLAB_AVX512", "0")
    assert flag not in compiled.cflags()
    monkeypatch.setenv("RNNLAB_AVX512", "1")
    assert (flag in compiled.cflags()) == all(f in compiled.cpu_flags() for f in compiled.AVX512)
    monkeypatch.setenv("RNNLAB_AVX512", "yes")
    with pytest.raises(ValueError, match="RNNLAB_AVX512"):
        compiled.cflags()


def test_force_gemm_backend_checks_its_argument():
    if not compiled.available():
        pytest.skip("compiled kernels not built")
    with pytest.raises(RuntimeError, match="force_gemm_backend"):
        compiled.load().force_gemm_backend(3)


@contextlib.contextmanager
def forced_backend(backend: int):
    """Every step product of the compiled loops through `backend` (0 BLAS, 1 oneDNN) in this block."""
    ops = compiled.load()
    previous = ops.force_gemm_backend(backend)
    try:
        yield
    finally:
        ops.force_gemm_backend(previous)


@onednn_usable
@pytest.mark.parametrize("ta, tb", [(False, False), (False, True), (True, False), (True, True)])
@pytest.mark.parametrize("beta", [0.0, 1.0])
def test_gemm_backends_agree(ta, tb, beta):
    """The same product (transposed operands, accumulate or not) through BLAS and through oneDNN."""
    g = torch.Generator().manual_seed(0)
    M, K, N = 24, 300, 130
    A = torch.randn((K, M) if ta else (M, K), generator=g)
    W = torch.randn((N, K) if tb else (K, N), generator=g)
    A, W = (A.t() if ta else A), (W.t() if tb else W)
    C0 = torch.randn(M, N, generator=g)
    exact = A.double() @ W.double() + beta * C0.double()
    for backend in (0, 1):
        C = C0.clone()
        compiled.load().mm_into(A, W, C, beta, backend)
        torch.testing.assert_close(C.double(), exact, atol=1e-4 * exact.abs().max().item(), rtol=0)


def test_step_products_packed_where_it_measured_faster():
    """MKL's packed form of the recurrent matrix, once per sequence: on Intel (MKL's own AVX-512
    sgemm) for sequences of 16 steps or more, the forward products but at batch 1 with W beyond
    L2, the backward ones from H = 1024 and B = 16; never on AMD (MKL's generic path, where it
    gained nothing) (bench/gemm_backends.py)."""
    if not compiled.available():
        pytest.skip("compiled kernels not built")
    ops = compiled.load()
    packed = ops.step_packed  # (W transposed, B, N, K, steps)
    if not ops.packed_usable() or compiled.mkl_generic():
        assert not packed(True, 32, 1024, 256, 100) and not packed(False, 128, 1024, 4096, 100)
        return
    assert packed(True, 16, 512, 128, 200) and packed(True, 32, 1024, 256, 100) and packed(True, 1, 512, 128, 200)
    assert packed(True, 128, 4096, 1024, 50) and packed(False, 16, 1024, 4096, 50) and packed(False, 128, 1024, 3072, 50)
    assert not packed(True, 1, 2048, 512, 50)  # batch 1, W beyond L2
    assert not packed(False, 32, 256, 1024, 100) and not packed(False, 1, 1024, 4096, 50)  # backward below H = 1024, batch 1
    assert not packed(True, 32, 1024, 256, 15) and not packed(True, 1, 512, 128, 1)  # too short to repay the packing


@pytest.mark.parametrize("backend", [1, 2], ids=["onednn", "packed"])
@pytest.mark.parametrize("config", ["elman_tanh", "gru", "gru_reset_before_layer_norm", "lstm", "lstm_everything"])
def test_compiled_with_forced_products_equals_python(config, backend, taken):
    """Every step product forced through oneDNN, or through MKL's packed GEMM (whatever this CPU's
    rule picks): forward, final state and every gradient still match the Python loops and float64.
    H = 256 (oneDNN's kernels for K, N ≥ 256), B = 16, padding."""
    if not compiled.available():
        pytest.skip("compiled kernels not built")
    if backend == 1 and (not torch.backends.mkldnn.is_available() or not compiled.load().onednn_usable()):
        pytest.skip("no oneDNN in this torch")
    if backend == 2 and not compiled.load().packed_usable():
        pytest.skip("no MKL packed GEMM in this torch")
    torch.manual_seed(0)
    cls, options = CONFIGS[config]
    cell = cls(4, 256, **options)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 16, 4, generator=g)
    lengths = torch.tensor([3] * 8 + [2] * 4 + [1] * 4)

    def outputs(cell, dtype):
        xx = x.to(dtype).requires_grad_()
        y, final = Recurrent(cell, fused=True)(xx, None, lengths)
        outs = [y, *torch.utils._pytree.tree_leaves(final)]
        loss = sum((v * torch.linspace(-1, 1, v.numel(), dtype=dtype).view_as(v)).sum() for v in outs)
        return outs + list(torch.autograd.grad(loss, [xx, *cell.parameters()]))

    count = compiled.load().onednn_calls if backend == 1 else compiled.load().packed_calls
    calls = count()
    with forced_backend(backend):
        ours = outputs(cell, torch.float32)
    assert taken == {"compiled": 2, "python": 0}
    assert count() - calls >= 2 * 3  # a forward and a backward product per step
    with python_path():
        reference = outputs(cell, torch.float32)
    exact = outputs(cell.double(), torch.float64)
    for k, (a, b, c) in enumerate(zip(ours, reference, exact)):
        scale = c.abs().max().item() + 1e-3
        assert (a.double() - c).abs().max() <= 1e-4 * scale, f"tensor {k}: compiled float32 far from float64"
        torch.testing.assert_close(a, b, atol=1e-4 * scale, rtol=1e-4, msg=lambda m: f"tensor {k}: {m}")


# --- the cells' own gradchecks and torch.nn parity cases, on the path their files do not take ---

@pytest.fixture
def other_path(monkeypatch):
    """The path the cells' test files do not run by default: Python where the compiled one is built,
    else (no compiler) nothing to add."""
    if not compiled.available():
        pytest.skip("compiled kernels not built: the cells' own tests already ran the Python path")
    with python_path():
        yield


count_calls = test_lstm_bptt.count_calls  # (the LSTM gradcheck's fixture)


@pytest.mark.parametrize("config", test_elman_bptt.CONFIGS)
def test_elman_gradcheck_other_path(config, other_path):
    test_elman_bptt.test_gradcheck(config, "lengths_reverse")


@pytest.mark.parametrize("config", test_gru_bptt.CONFIGS)
def test_gru_gradcheck_other_path(config, other_path):
    test_gru_bptt.test_gradcheck(config, "lengths_reverse")


@pytest.mark.parametrize("config", test_lstm_bptt.CONFIGS)
def test_lstm_gradcheck_other_path(config, other_path, count_calls):
    test_lstm_bptt.test_gradcheck(config, "reverse_lengths", count_calls)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_matches_torch_rnn_other_path(activation, other_path):
    test_elman_bptt.test_matches_torch_rnn(activation)


def test_matches_torch_gru_other_path(other_path):
    test_gru_bptt.test_matches_torch_gru()


@pytest.mark.parametrize("cls, kwargs", test_torch_parity.CONFIGS, ids=lambda c: getattr(c, "__name__", str(c)))
@pytest.mark.parametrize("with_lengths", [False, True], ids=["full", "lengths"])
@pytest.mark.parametrize("dtype, atol", [(torch.float32, 1e-5), (torch.float64, 1e-10)], ids=["f32", "f64"])
def test_torch_parity_other_path(cls, kwargs, with_lengths, dtype, atol, other_path):
    test_torch_parity.test_outputs_and_gradients_match_torch(cls, kwargs, with_lengths, dtype, atol, "auto")
