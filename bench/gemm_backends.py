"""Per-product time of a compiled loop's step products through BLAS (MKL's sgemm), oneDNN's matmul
and MKL's packed GEMM, and which one the kernels' rule picks (`packed_wins` and `onednn_wins` in
rnnlab/cells/_compiled/rnn_kernels.cpp).

Each row is one step product as the loops make it, C (B, N) = A (B, K) op(W), `--steps` times in a
row through one `StepMatrix` (`torch.ops.rnnlab_rnn.step_products`), as a loop over a sequence:

    forward   h Wᵀ      A = h_{t-1} (B, H),     W (G·H, H) transposed: K = H,    N = G·H
    backward  ∂L/∂a W   A = ∂L/∂a_t (B, G·H),   W (G·H, H):            K = G·H,  N = H

with G gates (4 for the LSTM; `--gates`). The packed backend packs op(W) once per sequence, and
that packing is part of its time. The backends run alternately on the same buffers, each timed
as the median over `--repeats` batches of sequences (a batch lasts about `--batch-ms`). The rule
is right for a row when it picks the fastest backend or one within `--tie` of it.

    python bench/gemm_backends.py                     # the default sweep, 1 thread, table + JSON
    python bench/gemm_backends.py --batches 1 32 --hidden 256 1024 --steps 100

The rules were measured on an AMD EPYC (Zen 4; MKL's generic path there: no packing) and an Intel
Xeon with AMX (docs/speed.md); rerun this on a new CPU before trusting them there.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine  # noqa: E402

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "gemm_backends.json"
BACKENDS = {"blas": 0, "onednn": 1, "packed": 2}


def time_calls(fn, batch_ms: float, repeats: int, clock) -> float:
    """Seconds per call of fn: median over `repeats` batches of n calls (n sized to ~batch_ms)."""
    fn()
    start, n = clock(), 0
    while clock() - start < batch_ms / 4000 or n < 2:  # a quarter batch to size n
        fn()
        n += 1
    per = (clock() - start) / n
    n = max(1, int(batch_ms / 1000 / max(per, 1e-9)))
    times = []
    for _ in range(repeats):
        start = clock()
        for _ in range(n):
            fn()
        times.append((clock() - start) / n)
    return statistics.median(times)


def product(kind: str, B: int, H: int, gates: int, seed: int = 0):
    """(A, op(W), C, (K, N)) for one step product of kind 'forward' or 'backward'."""
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(gates * H, H, generator=g) / H**0.5
    if kind == "forward":  # h Wᵀ: W's transpose, a strided view (the loops call it that way)
        A, opW = torch.randn(B, H, generator=g), W.t()
    else:  # ∂L/∂a W
        A, opW = torch.randn(B, gates * H, generator=g), W
    K, N = opW.shape
    return A, opW, torch.zeros(B, N), (K, N)


def measure(kind: str, B: int, H: int, gates: int, steps: int, batch_ms: float, repeats: int, tie: float, clock,
            ops) -> dict:
    A, opW, C, (K, N) = product(kind, B, H, gates)
    tw = kind == "forward"
    W = opW.t() if tw else opW  # row-major as the loops hold it: (N, K) for h Wᵀ, (K, N) for ∂L/∂a W
    backends = {name: code for name, code in BACKENDS.items() if name != "packed" or ops.packed_usable()}
    # each backend's product first: one that computes something else is a bug
    ref = A.double() @ opW.double()
    for name, code in backends.items():
        C.zero_()
        ops.step_products(A, W, tw, C, 1, code)
        err = (C.double() - ref).abs().max().item()
        if err > 1e-3 * max(1.0, ref.abs().max().item()):
            raise RuntimeError(f"{name} product wrong at {kind} B={B} H={H}: max error {err:.3g}")
    secs = {}
    for _ in range(2):  # alternate the backends: drift in the machine's speed hits all
        for name, code in backends.items():
            t = time_calls(lambda: ops.step_products(A, W, tw, C, steps, code), batch_ms, repeats, clock) / steps
            secs[name] = min(secs.get(name, float("inf")), t)
    flops = 2.0 * B * K * N
    if ops.step_packed(tw, B, N, K, steps):  # what the loops pick for a sequence of `steps`
        picks = "packed"
    else:
        picks = "onednn" if ops.gemm_backend(False, tw, B, N, K) else "blas"
    fastest = min(secs, key=secs.get)
    return {
        "kind": kind, "B": B, "H": H, "K": K, "N": N, "steps": steps,
        "us": {name: s * 1e6 for name, s in secs.items()},
        "gflops": {name: flops / s / 1e9 for name, s in secs.items()},
        "speed_vs_blas": {name: secs["blas"] / s for name, s in secs.items()},
        "fastest": fastest,
        "rule": picks,
        "rule_ok": secs[picks] <= secs[fastest] * (1 + tie),
    }


def table(rows: list[dict]) -> str:
    names = list(rows[0]["us"]) if rows else []
    head = f"{'product':9} {'B':>4} {'H':>5} {'K x N':>11} {'MKL GF/s':>9} " + " ".join(
        f"{n + ' speed':>13}" for n in names if n != "blas") + f" {'fastest':>8} {'rule':>7} {'ok':>4}"
    lines = [head]
    for r in rows:
        lines.append(
            f"{r['kind']:9} {r['B']:4d} {r['H']:5d} {str(r['K']) + 'x' + str(r['N']):>11} {r['gflops']['blas']:9.1f} "
            + " ".join(f"{r['speed_vs_blas'][n]:12.2f}x" for n in names if n != "blas")
            + f" {r['fastest']:>8} {r['rule']:>7} {'yes' if r['rule_ok'] else 'NO':>4}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batches", nargs="+", type=int, default=[1, 16, 32, 64, 128], help="rows B (default 1 16 32 64 128)")
    p.add_argument("--hidden", nargs="+", type=int, default=[128, 256, 512, 1024], help="H (default 128 256 512 1024)")
    p.add_argument("--gates", type=int, default=4, help="G: 4 LSTM, 3 GRU, 1 Elman (default 4)")
    p.add_argument("--steps", type=int, default=50, help="products per sequence (T; default 50)")
    p.add_argument("--repeats", type=int, default=7, help="timed batches per backend, median (default 7)")
    p.add_argument("--batch-ms", type=float, default=40.0, help="length of one timed batch of calls (default 40 ms)")
    p.add_argument("--tie", type=float, default=0.03, help="speed ratios within 1 ± tie count as a tie (default 0.03)")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1, as the loops are timed)")
    p.add_argument("--clock", choices=["wall", "cpu"], default="cpu", help="the process's CPU time (default) or wall clock")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results (default: bench/results/gemm_backends.json)")
    args = p.parse_args(argv)
    for name, values in (("--batches", args.batches), ("--hidden", args.hidden), ("--gates", [args.gates]),
                         ("--steps", [args.steps])):
        if min(values) < 1:
            p.error(f"{name} must be positive, got {values}")

    from rnnlab.cells import _compiled

    ops = _compiled.load()
    if ops is None:
        p.error(f"the compiled kernels are unavailable ({_compiled._state['error']}): nothing to compare")
    torch.set_num_threads(args.threads)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    if not ops.onednn_usable():
        p.error("the kernels cannot call oneDNN here (RNNLAB_ONEDNN_GEMM=0, or this torch lacks at::native::mkldnn_matmul)")
    rows = []
    for H in args.hidden:
        for B in args.batches:
            for kind in ("forward", "backward"):
                rows.append(measure(kind, B, H, args.gates, args.steps, args.batch_ms, args.repeats, args.tie, clock, ops))
    info = machine()
    print(f"step products, C (B, N) = A (B, K) op(W), G = {args.gates}, {args.steps} a sequence | {info['cpu']} | "
          f"torch {info['torch']}, {args.threads} thread(s) | {args.clock} clock | median of {args.repeats} | {info['date']}")
    print("speed: MKL's time per product / the backend's (> 1: faster than MKL's plain sgemm)")
    print(table(rows))
    wrong = [r for r in rows if not r["rule_ok"]]
    print(f"the rule picks the fastest backend (or one within {args.tie:.0%} of it) in {len(rows) - len(wrong)} of {len(rows)} rows")
    result = {"machine": info, "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
              "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
