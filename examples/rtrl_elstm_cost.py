"""What exact RTRL costs for the element-wise LSTM (Irie et al. 2023): the dense recursion
(`--learning rtrl`, O(n·P) numbers, O(n²·P) work per step) against the per-unit one (`diag`:
≤ 2 numbers per parameter, O(P)), both exact, against the hidden size n — and, for scale, a full
LSTM of the same n by exact RTRL and by SnAp-1.

Memory is the bytes of the carried states and influences after the last step (what the method
keeps); time is wall-clock per step (step + gradient), one thread, after a warm-up step. The
machine is shared, so times are pessimistic. Also checks that `diag`'s gradient equals `rtrl`'s.

    nice python examples/rtrl_elstm_cost.py          # writes docs/img/rtrl_elstm_cost.json
"""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch

from rnnlab.cells.elementwise_lstm import ElementwiseLSTMCell
from rnnlab.cells.lstm import LSTMCell
from rnnlab.layers.recurrent import Recurrent
from rnnlab.train.rtrl import RTRL

CASES = (("elstm", "rtrl"), ("elstm", "diag"), ("lstm", "rtrl"), ("lstm", "snap1"))


def nbytes(obj) -> int:
    if isinstance(obj, torch.Tensor):
        return obj.numel() * obj.element_size()
    return sum(nbytes(o) for o in obj) if isinstance(obj, (tuple, list)) else 0


def measure(cell: str, method: str, hidden: int, *, steps: int, batch: int, inputs: int):
    torch.manual_seed(0)
    layer = Recurrent((ElementwiseLSTMCell if cell == "elstm" else LSTMCell)(inputs, hidden))
    xs, cs = torch.randn(steps + 1, batch, inputs), torch.randn(steps + 1, batch, hidden)
    eng = RTRL(layer, method)
    eng.reset(batch)
    eng.step(xs[0])
    eng.backward(cs[0])  # warm-up (SnAp reads its pattern here)
    t0 = time.perf_counter()
    for t in range(1, steps + 1):
        eng.step(xs[t])
        eng.backward(cs[t])
    sec = (time.perf_counter() - t0) / steps
    P = sum(p.numel() for p in layer.parameters())
    grads = torch.cat([eng.grads[p].flatten() for p in layer.parameters()])
    return sec, nbytes(eng.carry()[:2]), P, grads


def slope(xs, ys) -> float:
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hiddens", type=int, nargs="+", default=[8, 16, 32, 64, 128])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--inputs", type=int, default=8)
    ap.add_argument("--json", default="docs/img/rtrl_elstm_cost.json")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    rows, started = [], time.perf_counter()
    for n in args.hiddens:
        grads = {}
        for cell, method in CASES:
            sec, kept, P, g = measure(cell, method, n, steps=args.steps, batch=args.batch, inputs=args.inputs)
            grads[cell, method] = g
            rows.append({"cell": cell, "method": method, "hidden": n, "params": P, "ms_per_step": round(sec * 1e3, 3),
                         "kept_kib": round(kept / 1024, 1)})
            print(f"n={n:4d} {cell:5s} {method:5s} P={P:7d} kept {kept / 1024:10.1f} KiB  {sec * 1e3:9.3f} ms/step",
                  flush=True)
        a, b = grads["elstm", "diag"], grads["elstm", "rtrl"]
        rel = float((a - b).abs().max() / b.abs().max())
        rows.append({"hidden": n, "elstm_diag_vs_rtrl_max_rel": rel})
        print(f"n={n:4d} elstm: diag vs rtrl gradient, max rel. difference {rel:.1e}", flush=True)
    wall = time.perf_counter() - started
    slopes = {}
    for cell, method in CASES:
        got = [r for r in rows if r.get("cell") == cell and r.get("method") == method]
        ns = [r["hidden"] for r in got]
        slopes[f"{cell}/{method}"] = {"memory": round(slope(ns, [r["kept_kib"] for r in got]), 2),
                                      "time_last3": round(slope(ns[-3:], [r["ms_per_step"] for r in got][-3:]), 2)}
        print(f"{cell}/{method}: log-log slope memory {slopes[f'{cell}/{method}']['memory']}, "
              f"time (largest 3) {slopes[f'{cell}/{method}']['time_last3']}")
    print(f"wall {wall:.0f} s")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"args": vars(args), "wall_s": round(wall, 1), "rows": rows,
                                           "slopes": slopes}, indent=1))


if __name__ == "__main__":
    main()
