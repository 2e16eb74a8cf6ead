"""Training throughput of `rnnlab train` on 1 and 2 processes (DDP over gloo, one CPU thread each).

Each configuration is a real `rnnlab train` run (`--nproc N` starts torchrun); tokens/s is read
from its metrics.jsonl (the trainer's own count: global tokens of the updates over their wall
time), leaving out the first logged block (start-up, first allocations). Two comparisons:

    weak    each process keeps batch B: N processes do N times the work per update
    strong  the global batch is fixed at 2B: 2 processes × B against 1 process × 2B

Also printed: the parameter count P and the gradient volume DDP all-reduces per update, 4·P bytes
(float32), of which a ring all-reduce sends 2·(N−1)/N · 4P bytes per process.

    python bench/distributed_speed.py                       # 2 x 256 LSTM, 60 updates per run
    python bench/distributed_speed.py --hidden 64 --updates 20
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


def run(nproc: int, batch: int, args, out: Path) -> dict:
    cmd = [sys.executable, "-m", "rnnlab", "train", "--task", "lm-char", "--max-chars", str(args.max_chars),
           "--hidden", str(args.hidden), "--layers", str(args.layers), "--bptt", str(args.bptt),
           "--batch-size", str(batch), "--max-steps", str(args.updates), "--log-every", str(args.log_every),
           "--device", "cpu", "--no-progress", "--out", str(out), "--nproc", str(nproc)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    speeds = [r["tokens_per_s"] for r in rows if r["kind"] == "train"][1:]
    params = next((line for line in done.stderr.splitlines() if "parameters" in line), "")
    return {"nproc": nproc, "batch_per_process": batch, "global_batch": batch * nproc,
            "tokens_per_s": statistics.median(speeds), "blocks": len(speeds), "describe": params.strip()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--bptt", type=int, default=50)
    p.add_argument("--batch", type=int, default=32, help="B: the per-process batch")
    p.add_argument("--updates", type=int, default=60)
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--max-chars", type=int, default=200_000)
    args = p.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, nproc, batch in (("1 x B", 1, args.batch), ("2 x B", 2, args.batch), ("1 x 2B", 1, 2 * args.batch)):
            r = run(nproc, batch, args, Path(tmp) / name.replace(" ", ""))
            results.append(r)
            print(f"{name:7s} processes {r['nproc']}  global batch {r['global_batch']:4d}  "
                  f"{r['tokens_per_s']:10,.0f} tokens/s  (median of {r['blocks']} blocks of {args.log_every} updates)",
                  flush=True)
    print(results[0]["describe"])
    one, two, big = (r["tokens_per_s"] for r in results)
    print(f"weak scaling   (B per process):  2 processes / 1 = {two / one:.2f}")
    print(f"strong scaling (global batch 2B): 2 x B / 1 x 2B = {two / big:.2f}")
    print(json.dumps({"args": vars(args), "cpus": os.cpu_count(), "load": os.getloadavg(), "results": results}))


if __name__ == "__main__":
    main()
