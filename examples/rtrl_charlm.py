"""A character language model on the built-in corpus learned online: SnAp-1 and UORO against
truncated BPTT at equal updates (bits per character on held-out text, one plot).

Every method reads the same B parallel streams of the training text and updates the weights
after every character (the same number of updates and of characters): SnAp-1 and UORO through
`--learning snap1 | uoro` (rnnlab.train.rtrl.online.OnlineLMTask, state and influence carried
forever), truncated BPTT as `--learning tbptt` with k1 = 1 new step per update and the gradient
flowing back k2 steps (Williams & Peng's BPTT(k2, 1); rnnlab.lm.LanguageModelTask). Validation
bits per character are measured every --eval-every updates on the first --eval-chars characters
of the validation split, the state carried through it. The tasks are the ones `rnnlab train`
builds; this script only drives them and evaluates more often than the Trainer's epoch ends.

    nice python examples/rtrl_charlm.py             # full protocol: docs/img/rtrl_charlm.{png,json}
    python examples/rtrl_charlm.py --updates 100 --eval-every 50    # a smoke run
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from rnnlab.lm.task import evaluate_stream
from rnnlab.recipes.language_model import RECIPE, LanguageModelOptions
from rnnlab.train.optim import clip_gradients

RUNS = {"snap1": dict(learning="snap1"), "uoro": dict(learning="uoro"),
        "tbptt k2=5": dict(learning="tbptt", update_every=1, bptt_back=5),
        "tbptt k2=20": dict(learning="tbptt", update_every=1, bptt_back=20)}


def run(name: str, args) -> list[tuple[int, float]]:
    opts = LanguageModelOptions(task="lm-char", cell=args.cell, hidden=args.hidden, layers=1, embedding=args.embedding,
                                batch_size=args.batch, max_chars=args.max_chars, lr=args.lr, seed=args.seed,
                                **RUNS[name])
    prepared = RECIPE.prepare(opts)
    model, task = prepared.model, prepared.task
    ids = task.splits["valid"][:args.eval_chars]
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    curve, carry = [(0, evaluate_stream(model, ids, 10, "char")["bpc"])], None
    for i in range(args.updates):
        out = task.train_step(model, 1, i, carry)
        opt.zero_grad()
        out.loss.backward()
        clip_gradients(model.parameters(), 5.0, None)
        opt.step()
        carry = out.carry
        if (i + 1) % args.eval_every == 0:
            curve.append((i + 1, evaluate_stream(model, ids, 10, "char")["bpc"]))
            print(f"{name:12s} update {i + 1:5d}: valid {curve[-1][1]:.3f} bits/char", flush=True)
    return curve


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--updates", type=int, default=3000)
    ap.add_argument("--eval-every", type=int, default=300)
    ap.add_argument("--eval-chars", type=int, default=5000)
    ap.add_argument("--cell", default="lstm")
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--embedding", type=int, default=16)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--max-chars", type=int, default=200_000)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--runs", nargs="+", default=list(RUNS), choices=list(RUNS))
    ap.add_argument("--out", default="docs/img/rtrl_charlm.png")
    ap.add_argument("--json", default="docs/img/rtrl_charlm.json")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    curves, seconds = {}, {}
    for name in args.runs:
        t0 = time.perf_counter()
        curves[name] = run(name, args)
        seconds[name] = round(time.perf_counter() - t0, 1)
        print(f"{name}: {seconds[name]} s", flush=True)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"args": vars(args), "curves": curves, "seconds": seconds}, indent=1))
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, curve in curves.items():
        ax.plot([c[0] for c in curve], [c[1] for c in curve], marker=".", label=f"{name} ({seconds[name]:.0f} s)")
    ax.set_xlabel("updates (one per character of each stream)")
    ax.set_ylabel("validation bits / char")
    ax.set_title(f"online char LM, 1 x {args.hidden} {args.cell}, {args.batch} streams")
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out} and {args.json}")


if __name__ == "__main__":
    main()
