"""Memory and time per step of BPTT, exact RTRL, SnAp-1 and UORO — measured, not assumed.

(1) Against the sequence length T = 10 … 10,000 at a fixed hidden size: BPTT keeps every step's
activations for its backward pass (memory linear in T); the forward methods keep only the state
and the influence (flat in T). (2) Against the hidden size n at a fixed T: exact RTRL's influence
is n × P ≈ n³ numbers and its update D_t J_{t−1} costs n · n · P ≈ n⁴ per step; SnAp-1 and UORO
stay O(P) ≈ n². The log-log slopes of the measured curves are printed.

Memory is what each method *keeps* while the sequence runs, measured from the tensors: for BPTT
the bytes autograd saves for the backward pass (torch.autograd.graph.saved_tensors_hooks); for
the forward methods the bytes of the carried states and influences after the last step. Time is
wall-clock per step: BPTT's forward + backward over the whole sequence divided by T (Elman tanh
through rnnlab's fused hand-derived BPTT); the forward methods' step + gradient over T steps.
One thread; the machine is shared, so times are pessimistic.

    nice python examples/rtrl_memory.py              # full protocol: writes docs/img/rtrl_memory.{png,json}
    python examples/rtrl_memory.py --lengths 10 100 --hiddens 8 16    # a smoke run
"""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch

from rnnlab.cells.elman import ElmanCell
from rnnlab.layers.recurrent import Recurrent
from rnnlab.train.rtrl import RTRL

METHODS = ("bptt", "rtrl", "snap1", "uoro")


def nbytes(obj) -> int:
    if isinstance(obj, torch.Tensor):
        return obj.numel() * obj.element_size()
    if isinstance(obj, (tuple, list)):
        return sum(nbytes(o) for o in obj)
    return 0


def measure(method: str, T: int, hidden: int, batch: int, inputs: int) -> tuple[float, int]:
    """(seconds per step, bytes kept) for one sequence of T steps."""
    torch.manual_seed(0)
    layer = Recurrent(ElmanCell(inputs, hidden))
    x = torch.randn(T, batch, inputs)
    c = torch.randn(batch, hidden)
    if method == "bptt":
        seen, kept = set(), [0]

        def pack(t):
            key = (t.data_ptr(), t.numel(), t.dtype)
            if key not in seen:  # a tensor saved by several nodes is kept once
                seen.add(key)
                kept[0] += nbytes(t)
            return t
        t0 = time.perf_counter()
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            y, _ = layer(x)
            loss = (y * c).sum()
        loss.backward()
        return (time.perf_counter() - t0) / T, kept[0]
    eng = RTRL(layer, method)
    eng.reset(batch)
    t0 = time.perf_counter()
    for t in range(T):
        eng.step(x[t])
        eng.backward(c)
    return (time.perf_counter() - t0) / T, nbytes(eng.carry())


def slope(xs, ys) -> float:
    lx, ly = [math.log(v) for v in xs], [math.log(v) for v in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lengths", type=int, nargs="+", default=[10, 100, 1000, 10000])
    ap.add_argument("--hidden", type=int, default=16, help="hidden size of the length sweep")
    ap.add_argument("--hiddens", type=int, nargs="+", default=[8, 16, 32, 64, 128])
    ap.add_argument("--hidden-steps", type=int, default=20, help="T of the hidden-size sweep")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--inputs", type=int, default=8)
    ap.add_argument("--out", default="docs/img/rtrl_memory.png")
    ap.add_argument("--json", default="docs/img/rtrl_memory.json")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    started = time.perf_counter()
    for m in METHODS:  # warm up (first calls pay for allocation and dispatch caches)
        measure(m, 10, args.hidden, args.batch, args.inputs)
    by_T = {m: [] for m in METHODS}
    for T in args.lengths:
        for m in METHODS:
            sec, kept = measure(m, T, args.hidden, args.batch, args.inputs)
            by_T[m].append((T, sec, kept))
            print(f"T={T:6d} {m:6s} {sec * 1e3:9.3f} ms/step  {kept / 1024:12.1f} KiB kept", flush=True)
    by_H = {m: [] for m in METHODS}
    for H in args.hiddens:
        for m in METHODS:
            sec, kept = measure(m, args.hidden_steps, H, args.batch, args.inputs)
            by_H[m].append((H, sec, kept))
            print(f"H={H:4d} {m:6s} {sec * 1e3:9.3f} ms/step  {kept / 1024:12.1f} KiB kept", flush=True)
    wall = time.perf_counter() - started
    slopes = {m: {"time_vs_T": slope([r[0] for r in by_T[m]], [r[1] for r in by_T[m]]),
                  "memory_vs_T": slope([r[0] for r in by_T[m]], [r[2] for r in by_T[m]]),
                  "time_vs_H": slope([r[0] for r in by_H[m]], [r[1] for r in by_H[m]]),
                  "memory_vs_H": slope([r[0] for r in by_H[m]], [r[2] for r in by_H[m]]),
                  # at small n the time is Python overhead: the slope over the three largest sizes
                  "time_vs_H_largest3": slope([r[0] for r in by_H[m][-3:]], [r[1] for r in by_H[m][-3:]])}
              for m in METHODS}
    print(f"log-log slopes (wall {wall:.0f} s):")
    for m in METHODS:
        print(f"  {m:6s} " + "  ".join(f"{k} {v:5.2f}" for k, v in slopes[m].items()))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"args": vars(args), "wall_s": round(wall, 1), "by_T": by_T, "by_H": by_H,
                                           "slopes": slopes}, indent=1))
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    for m in METHODS:
        for row, (data, label) in enumerate([(by_T[m], "sequence length T"), (by_H[m], "hidden size n")]):
            xs = [r[0] for r in data]
            axes[row][0].loglog(xs, [r[2] / 1024 for r in data], marker="o", label=m)
            axes[row][1].loglog(xs, [r[1] * 1e3 for r in data], marker="o", label=m)
            axes[row][0].set_xlabel(label)
            axes[row][1].set_xlabel(label)
    axes[0][0].set_title(f"memory kept (KiB), n = {args.hidden}")
    axes[0][1].set_title(f"time per step (ms), n = {args.hidden}")
    axes[1][0].set_title(f"memory kept (KiB), T = {args.hidden_steps}")
    axes[1][1].set_title(f"time per step (ms), T = {args.hidden_steps}")
    for ax in axes.flat:
        ax.legend(fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
    fig.suptitle(f"Elman tanh, batch {args.batch}, {args.inputs} inputs, 1 thread (shared machine)")
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out} and {args.json}")


if __name__ == "__main__":
    main()
