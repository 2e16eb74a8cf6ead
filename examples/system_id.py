"""System identification of Narendra & Parthasarathy's nonlinear plant (rnnlab/datasets/plant.py)
from a noisy recording: NARX trained series-parallel, parallel and with scheduled mixing, against
Elman and LSTM models, all through the narx-plant task (`rnnlab train --task narx-plant ...`).

    python examples/system_id.py                  # 3 seeds per model
    python examples/system_id.py --seeds 1

Reported on two held-out input signals (Narendra's sine, and a new random input), against the
noise-free plant output: one-step-ahead RMSE (the measured past outputs in the NARX delay line)
and free-run RMSE (simulation: only the input signal). Elman and LSTM never see past outputs, so
their two numbers coincide. Every model: 16 hidden units, 25 epochs, Adam lr 5e-3, batch 16 windows
of 50 steps, the best validation free-run weights. Writes the table (markdown) and a plot of the
free-run predictions on the sine input.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnnlab.recipes.narx import RECIPE  # noqa: E402
from rnnlab.recipes.recipe import parameters  # noqa: E402
from rnnlab.train.checkpoint import load_weights  # noqa: E402
from rnnlab.train.config import TrainConfig  # noqa: E402
from rnnlab.train.trainer import Trainer  # noqa: E402

MODELS = {"NARX series-parallel": dict(cell="narx", feedback="series-parallel"),
          "NARX parallel": dict(cell="narx", feedback="parallel"),
          "NARX scheduled": dict(cell="narx", feedback="scheduled"),
          "Elman": dict(cell="elman"),
          "LSTM": dict(cell="lstm")}
COMMON = dict(task="narx-plant", hidden=16, input_delays=2, output_delays=2, epochs=25, lr=5e-3, batch_size=16,
              window=50, noise=0.05, signal_steps=3000, log_every=1000)


def run_one(model: str, seed: int):
    options = RECIPE.options({**COMMON, **MODELS[model], "seed": seed, "data_seed": 0})
    prepared = RECIPE.prepare(options)
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        Trainer(prepared.model, prepared.task, TrainConfig.of(options), tmp, progress=False, tensorboard=False).fit()
        load_weights(prepared.model, Path(tmp) / Trainer.BEST)
    row = {"model": model, "seed": seed, "params": parameters(prepared.model), "seconds": time.time() - started}
    for split in ("test", "test-random"):
        m = prepared.task.evaluate(prepared.model, split)
        row[f"{split}:one"], row[f"{split}:free"] = m["rmse_one"], m["rmse_free"]
    free = prepared.task.predictions(prepared.model, "test")["free"][:, 0].tolist()
    return row, free, prepared.task.splits["test"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--results", default="docs/img/delay_sysid_results.jsonl")
    p.add_argument("--plot", default="docs/img/delay_sysid_freerun.png")
    p.add_argument("--epochs", type=int, default=COMMON["epochs"], help="the training budget (epochs)")
    args = p.parse_args()
    COMMON["epochs"] = args.epochs
    torch.set_num_threads(1)
    path = Path(args.results)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows, curves, signal = [], {}, None
    for seed in range(args.seeds):
        for model in MODELS:
            row, free, signal = run_one(model, seed)
            print(f"seed {seed} {model:22s} sine one {row['test:one']:.4f} free {row['test:free']:.4f} | "
                  f"random one {row['test-random:one']:.4f} free {row['test-random:free']:.4f}  "
                  f"{row['seconds']:.0f} s", flush=True)
            rows.append(row)
            if seed == 0:
                curves[model] = free
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))

    def cell(model, key):
        vals = [r[key] for r in rows if r["model"] == model]
        return f"{statistics.mean(vals):.3f}" + (f" ± {statistics.stdev(vals):.3f}" if len(vals) > 1 else "")

    print(f"\nRMSE against the noise-free output, mean ± std over {args.seeds} seed(s)\n")
    print("| model | parameters | sine: one-step | sine: free-run | random: one-step | random: free-run | s / run |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for model in MODELS:
        mine = [r for r in rows if r["model"] == model]
        print(f"| {model} | {mine[0]['params']:,} | {cell(model, 'test:one')} | {cell(model, 'test:free')} | "
              f"{cell(model, 'test-random:one')} | {cell(model, 'test-random:free')} | "
              f"{statistics.mean(r['seconds'] for r in mine):.0f} |")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    n = 200
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.plot(signal.clean[:n, 0].tolist(), color="black", lw=2, label="plant (noise-free)")
    for model, free in curves.items():
        ax.plot(free[:n], lw=1, label=model)
    ax.set_xlabel("t (input u_t = sin(2πt/25))")
    ax.set_ylabel("y")
    ax.set_title("free-run (simulation) predictions on the held-out sine input, seed 0", fontsize=9)
    ax.legend(fontsize=7, ncol=3)
    fig.tight_layout()
    fig.savefig(args.plot, dpi=120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
