"""Long-term dependencies through output delays (Lin, Horne, Tiňo & Giles 1996): success rate of
Elman and NARX networks (K_y = 1, 3, 6 output delays) on the latching problem against the number T
of noise steps the class must be held for, over many seeds, all trained by BPTT with the same
budget (epochs, examples, batch, learning rate, Adam, gradient clipping at 5).

    python examples/latching.py                       # T in 5 10 20 40 80, 10 seeds
    python examples/latching.py --lengths 5,10,20 --seeds 3

A run succeeds when its test accuracy is at least --success (95 %). Each run goes through the
latching task of the narx recipe (`rnnlab train --task latching ...`). Results are appended to
--results as runs finish and runs already there are skipped, so a cut run is continued by
rerunning; runs go seed by seed (every model and T for seed 0, then seed 1, …), so a cut table
still compares the models on the same seeds. `--max-minutes` stops starting new runs.
Models: Elman, 8 tanh units, linear read-out of h_T; NARX, the input window u_t, u_{t-1}, u_{t-2}
(K_x 2 = prefix - 1, so the class is computable from the window at the last deciding input and
what is tested is holding it), a hidden layer of 8 tanh units without recurrence, one tanh output
fed back through K_y delays, read out by a linear map of ŷ_T. `--input-delays 0` runs NARX with
the current input only (it must then also count the prefix through its one fed-back output).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnnlab.recipes.narx import RECIPE  # noqa: E402
from rnnlab.recipes.recipe import parameters  # noqa: E402
from rnnlab.train.config import TrainConfig  # noqa: E402
from rnnlab.train.trainer import Trainer  # noqa: E402

# NARX sees the deciding inputs together (K_x = prefix - 1 = 2), so what is tested is the latching;
# `--input-delays 0` makes it also count the prefix through its one fed-back output
MODELS = {"elman": dict(cell="elman", hidden=8),
          "narx-ky1": dict(cell="narx", hidden=8, input_delays=2, output_delays=1),
          "narx-ky3": dict(cell="narx", hidden=8, input_delays=2, output_delays=3),
          "narx-ky6": dict(cell="narx", hidden=8, input_delays=2, output_delays=6)}
BUDGET = dict(task="latching", epochs=20, examples=512, batch_size=32, lr=1e-2, noise=0.2, prefix=3,
              eval_batch_size=512, log_every=1000)


def run_one(model: str, length: int, seed: int) -> dict:
    options = RECIPE.options({**BUDGET, **MODELS[model], "length": length, "seed": seed, "data_seed": seed})
    prepared = RECIPE.prepare(options)
    started = time.time()
    Trainer(prepared.model, prepared.task, TrainConfig.of(options), None, progress=False, tensorboard=False).fit()
    test = prepared.task.evaluate(prepared.model, "test")  # the last weights: same budget for every model
    return {"model": model, "T": length, "seed": seed, "accuracy": test["accuracy"],
            "params": parameters(prepared.model), "seconds": time.time() - started}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--lengths", default="5,10,20,40,80")
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--success", type=float, default=0.95)
    p.add_argument("--results", default="docs/img/delay_latching_results.jsonl")
    p.add_argument("--plot", default="docs/img/delay_latching.png")
    p.add_argument("--max-minutes", type=float, default=None)
    p.add_argument("--input-delays", type=int, default=2, help="K_x of the NARX models")
    p.add_argument("--epochs", type=int, default=BUDGET["epochs"], help="the training budget (epochs)")
    args = p.parse_args()
    BUDGET["epochs"] = args.epochs
    for name in MODELS:
        if name.startswith("narx"):
            MODELS[name]["input_delays"] = args.input_delays
    torch.set_num_threads(1)
    lengths, models = [int(t) for t in args.lengths.split(",")], args.models.split(",")
    path = Path(args.results)
    path.parent.mkdir(parents=True, exist_ok=True)
    results = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    done = {(r["model"], r["T"], r["seed"]) for r in results}
    started, stop = time.time(), False
    for seed in range(args.seeds):
        for length in lengths:
            for model in models:
                if (model, length, seed) in done:
                    continue
                if args.max_minutes is not None and (time.time() - started) / 60 > args.max_minutes:
                    stop = True
                    break
                r = run_one(model, length, seed)
                print(f"seed {seed} T {length:3d} {model:9s} accuracy {100 * r['accuracy']:6.2f} %  "
                      f"{r['seconds']:.0f} s", flush=True)
                with path.open("a") as f:
                    f.write(json.dumps(r) + "\n")
                results.append(r)
            if stop:
                break
        if stop:
            print(f"stopping: --max-minutes {args.max_minutes} reached; rerun to continue", flush=True)
            break
    rates = {}
    print(f"success (test accuracy >= {100 * args.success:.0f} %) rate / seeds run")
    print("| model | " + " | ".join(f"T = {t}" for t in lengths) + " |")
    print("|---|" + "---:|" * len(lengths))
    for model in models:
        row = []
        for t in lengths:
            runs = [r for r in results if r["model"] == model and r["T"] == t]
            ok = sum(r["accuracy"] >= args.success for r in runs)
            rates[(model, t)] = ok / len(runs) if runs else None
            row.append(f"{ok}/{len(runs)}" if runs else "–")
        print(f"| {model} | " + " | ".join(row) + " |")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    fig, ax = plt.subplots(figsize=(5, 3.4))
    for model in models:
        pts = [(t, rates[(model, t)]) for t in lengths if rates[(model, t)] is not None]
        if pts:  # Elman dashed and on top: its rates may coincide with a NARX's
            style = dict(color="black", ls="--", marker="s", zorder=3) if model == "elman" else dict(marker="o")
            ax.plot(*zip(*pts), label=model, **style)
    ax.set_xscale("log")
    ax.set_xticks(lengths, [str(t) for t in lengths])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("T (noise steps to latch across)")
    ax.set_ylabel(f"success rate (test acc. ≥ {100 * args.success:.0f} %)")
    n = min((sum(1 for r in results if r["model"] == m and r["T"] == t) for m in models for t in lengths), default=0)
    ax.set_title(f"latching, at least {n} seeds per point", fontsize=9)
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.plot, dpi=120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
