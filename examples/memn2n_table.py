"""The memory network's per-task accuracy on the bAbI-style stories (rnnlab.datasets.babi): one
MemN2N trained jointly on all five tasks, for each number of hops given, through the qa recipe and
rnnlab's Trainer — the same as `rnnlab train --task qa-all --hops K` — then scored on the test split.

    python examples/memn2n_table.py --hops 1 3 --out memn2n.json

Prints a markdown table (test accuracy per task) and appends one JSON line per model to --out.
"""
from __future__ import annotations

import argparse
import json
import time

import torch

from rnnlab.recipes.memory import QA_RECIPE
from rnnlab.train import Trainer


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--hops", type=int, nargs="+", default=[1, 3])
    p.add_argument("--epochs", type=int, default=None, help="default: the qa preset's (100)")
    p.add_argument("--train-examples", type=int, default=1000, help="per task")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None)
    args = p.parse_args()
    torch.set_num_threads(1)
    rows = []
    for hops in args.hops:
        given = {"task": "qa-all", "hops": hops, "seed": args.seed, "train_examples": args.train_examples}
        options = QA_RECIPE.options(given | ({"epochs": args.epochs} if args.epochs else {}))
        prepared = QA_RECIPE.prepare(options)
        t0 = time.time()
        Trainer(prepared.model, prepared.task, QA_RECIPE.train_config(options), None, progress=False,
                tensorboard=False).fit()
        test = prepared.task.evaluate(prepared.model, "test")
        row = {"hops": hops, "epochs": options.epochs, "schedule": f"{options.lr} x{options.decay_factor} every {options.decay_every} after {options.decay_start}", "linear_epochs": options.linear_epochs, "train_examples": args.train_examples, "seed": args.seed,
               "wall_s": round(time.time() - t0, 1), "test": test}
        rows.append(row)
        print(json.dumps(row), flush=True)
        if args.out:
            with open(args.out, "a") as f:
                f.write(json.dumps(row) + "\n")
    tasks = sorted(k.split("/", 1)[1] for k in rows[0]["test"] if k.startswith("accuracy/"))
    print("\n| task | " + " | ".join(f"{r['hops']} hop{'s' if r['hops'] > 1 else ''}" for r in rows) + " |")
    print("|---|" + "---:|" * len(rows))
    for task in tasks:
        print(f"| {task} | " + " | ".join(f"{100 * r['test'][f'accuracy/{task}']:.1f}%" for r in rows) + " |")
    print("| **all** | " + " | ".join(f"**{100 * r['test']['accuracy']:.1f}%**" for r in rows) + " |")


if __name__ == "__main__":
    main()
