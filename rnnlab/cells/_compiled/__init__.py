"""The compiled time loops (rnn_kernels.cpp): built once with torch.utils.cpp_extension, then cached.

`kernels(x)` returns the ops namespace (torch.ops.rnnlab_rnn) when the compiled path should run
a sequence x, else None, and the caller runs its Python loop (the reference). The compiled path
runs CPU float32 / float64 tensors. The first call builds the extension (about a minute on a
busy 2-core machine; cached afterwards under torch's extension folder, TORCH_EXTENSIONS_DIR,
keyed by a hash of the source and the compiler flags); if that fails (no compiler, no ninja),
rnnlab says so once in one line on stderr and keeps to the Python path.

RNNLAB_COMPILED=0 in the environment forces the Python path (read at every call, so tests can
switch it); `python_path()` does the same inside a `with` block.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import sys
from pathlib import Path

import torch

SOURCE = Path(__file__).with_name("rnn_kernels.cpp")
ENV = "RNNLAB_COMPILED"

# activations.py's names, in the order of the C++ enum
ACTIVATION_CODES = {"tanh": 0, "sigmoid": 1, "relu": 2, "identity": 3}

_state: dict = {"ops": None, "tried": False, "error": None, "forced_off": 0}


AVX512 = ("avx512f", "avx512dq", "avx512bw", "avx512vl")


@functools.cache
def cpu_flags() -> frozenset[str]:
    """/proc/cpuinfo's words (vendor, flags), read once; empty where it cannot be read."""
    try:
        return frozenset(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return frozenset()


def mkl_generic() -> bool:
    """Whether MKL runs its generic sgemm on this CPU (AMD's; on Intel's it runs its own AVX-512 or
    AVX2 kernels): where our loops beat oneDNN, and which products go to oneDNN, depend on it."""
    return "AuthenticAMD" in cpu_flags()


def cflags() -> list[str]:
    """-O3, plus AVX2/FMA where this CPU has them (the gate loops are written to vectorise), and
    AVX-512 on AMD CPUs and on Intel CPUs with AMX that have it."""
    # -fno-trapping-math lets GCC turn the selects of the exp/tanh polynomials into vector blends
    # (torch itself is built with it and -fno-math-errno)
    flags = ["-O3", "-fno-math-errno", "-fno-trapping-math", "-std=c++20"]
    cpu = cpu_flags()
    if "avx2" in cpu and "fma" in cpu:
        flags += ["-mavx2", "-mfma"]
    # AVX-512 for the gate loops where it measured faster: AMD EPYC (Zen 4, which runs 512-bit ops
    # without lowering its clock), forward loop -0.6 ms and backward -0.3 ms of 7-8 ms each at
    # (T, B, H) = (200, 16, 128); Intel Xeon with AMX (Sapphire Rapids and later), a training step
    # of the layer-norm LSTM there 25 -> 17-20 ms, the plain LSTM 15.4 -> 14.1 ms (docs/speed.md).
    # Not on older Intel CPUs (no AMX): not measured, and some lower their clock for 512-bit code,
    # which would slow the BLAS calls around the loops. RNNLAB_AVX512=0 / 1 overrides (a new build).
    avx512 = os.environ.get("RNNLAB_AVX512")
    if avx512 not in (None, "0", "1"):
        raise ValueError(f"RNNLAB_AVX512 must be 0 or 1, got {avx512!r}")
    use = ("AuthenticAMD" in cpu or "amx_tile" in cpu) if avx512 is None else avx512 == "1"
    if use and all(f in cpu for f in AVX512):
        flags += [f"-m{f}" for f in AVX512] + ["-mprefer-vector-width=512"]
    # MKL runs its own AVX-512 sgemm on Intel CPUs but a generic one on AMD's: which step products
    # go to oneDNN instead depends on that (rnn_kernels.cpp, `onednn_wins`)
    flags.append(f"-DRNNLAB_MKL_GENERIC={int(mkl_generic())}")
    return flags


def build():
    """Build (or load the cached build of) the extension; returns torch.ops.rnnlab_rnn. Raises on failure."""
    from torch.utils import cpp_extension

    flags = cflags()
    key = hashlib.sha1(SOURCE.read_bytes() + " ".join(flags).encode() + torch.__version__.encode()).hexdigest()[:12]
    name = f"rnnlab_rnn_{key}"
    try:  # say why the first run pauses (a cold build takes ~30-60 s on a busy 2-core machine)
        built = (Path(cpp_extension._get_build_directory(name, False)) / f"{name}.so").exists()
    except Exception:
        built = True
    if not built:
        print("rnnlab: building the compiled RNN kernels (once; cached afterwards)", file=sys.stderr, flush=True)
    cpp_extension.load(name=name, sources=[str(SOURCE)], extra_cflags=flags, is_python_module=False, verbose=False)
    return torch.ops.rnnlab_rnn


def load():
    """torch.ops.rnnlab_rnn, building it on the first call; None (said once) when it cannot be built."""
    if not _state["tried"]:
        _state["tried"] = True
        try:
            _state["ops"] = build()
        except Exception as e:  # no compiler, no ninja, a failed build: the Python path runs everything
            _state["error"] = f"{type(e).__name__}: {str(e).strip().splitlines()[-1] if str(e).strip() else ''}"
            print(f"rnnlab: compiled RNN kernels unavailable ({_state['error']}); using the Python path", file=sys.stderr)
    return _state["ops"]


def enabled() -> bool:
    """False where RNNLAB_COMPILED=0 or inside `python_path()`."""
    return os.environ.get(ENV, "1") != "0" and not _state["forced_off"]


# float32 LayerNorm over fewer units than this is ill-conditioned (a zero state gives variance 0,
# rstd = 1/√ε ≈ 316): results then hang on rounding order, and the compiled loops, which round
# differently from torch's layer_norm, can differ from the step path by more than float32 tests
# allow (seen: 1.6e-4 relative with 2 units). Such cells keep to the Python loops, which use
# torch's own kernels; their speed does not matter.
SMALL_LAYER_NORM = 8


def kernels(x: torch.Tensor, layer_norm_width: int | None = None):
    """The ops for a sequence x, or None where the Python loop must run it (see the module docstring);
    `layer_norm_width`: the fewest units any LayerNorm of the cell normalises over (None: none)."""
    if not enabled() or x.device.type != "cpu" or x.dtype not in (torch.float32, torch.float64):
        return None
    if layer_norm_width is not None and x.dtype == torch.float32 and layer_norm_width < SMALL_LAYER_NORM:
        return None
    return load()


def available() -> bool:
    """Whether the compiled path is enabled and built (building it if needed)."""
    return enabled() and load() is not None


@contextlib.contextmanager
def python_path():
    """Run the Python loops inside this block (the reference; tests compare both paths)."""
    _state["forced_off"] += 1
    try:
        yield
    finally:
        _state["forced_off"] -= 1


def activation_code(name: str) -> int:
    return ACTIVATION_CODES[name]
