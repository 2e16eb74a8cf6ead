"""Attention against a fixed-size context: exact-match accuracy by source length on string reversal.

Two encoder–decoders with the same cell, width and training budget differ only in attention. The
one without must squeeze the whole source into its final state C; the one with attention reads the
encoder state of the letter it is writing (Bahdanau et al. 2015, figure 2 — there on translation,
here on reversal). Trained through `rnnlab.train.Trainer` on random letter strings of length
2–30, both are scored per source-length bucket on held-out strings with greedy decoding, printed
as a table and drawn as a plot.

    python examples/attention_vs_length.py [--steps 1500] [--hidden 64] [--max-len 30] [--plot FILE]

A few minutes on one CPU thread at the defaults.
"""
from __future__ import annotations

import argparse
import json
import math
import time

import torch

from rnnlab.seq2seq import Seq2Seq, Seq2SeqTask, build_vocabularies, greedy_decode, pad_batch
from rnnlab.datasets.transduction import transduction_data
from rnnlab.train import TrainConfig, Trainer


def buckets(min_len: int, max_len: int, width: int) -> list[tuple[int, int]]:
    """[min_len, max_len] cut into ranges of `width` lengths (the first may be shorter)."""
    edges = list(range(max_len, min_len - 1, -width))[::-1]
    return [(max(min_len, hi - width + 1), hi) for hi in edges]


@torch.no_grad()
def accuracy_by_length(model, task: Seq2SeqTask, split: str, ranges: list[tuple[int, int]]) -> list[tuple[int, float]]:
    """(count, exact-match rate) of greedy decoding for each range of source lengths."""
    hits = {r: [0, 0] for r in ranges}
    pairs = task.splits[split]
    for a in range(0, len(pairs), 256):
        chunk = pairs[a:a + 256]
        src, lengths = pad_batch([s for s, _ in chunk], task.src_pad)
        hyps = greedy_decode(model, src, lengths, max_len=int(lengths.max()) + 2)
        for (s, t), h in zip(chunk, hyps):
            r = next(r for r in ranges if r[0] <= len(s) <= r[1])
            hits[r][0] += 1
            hits[r][1] += int(h.finished and h.tokens == t[:-1].tolist())
    return [(n, ok / n if n else float("nan")) for n, ok in (hits[r] for r in ranges)]


def label(lo: int, hi: int) -> str:
    return str(lo) if lo == hi else f"{lo}–{hi}"


def plot(ranges, results: dict[str, list[tuple[int, float]]], path: str, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    centers = [(lo + hi) / 2 for lo, hi in ranges]
    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=120)
    for (name, rows), marker in zip(results.items(), "os^"):
        ax.plot(centers, [100 * acc for _, acc in rows], marker=marker, label=name)
    ax.set_xticks(centers, [label(lo, hi) for lo, hi in ranges])
    ax.set_xlabel("source length (letters)")
    ax.set_ylabel("exact match (%)")
    ax.set_ylim(-3, 103)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cell", default="gru")
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--embedding", type=int, default=32)
    ap.add_argument("--min-len", type=int, default=2)
    ap.add_argument("--max-len", type=int, default=30)
    ap.add_argument("--bucket", type=int, default=4, help="lengths per row of the table")
    ap.add_argument("--train", type=int, default=20_000, help="training pairs")
    ap.add_argument("--test", type=int, default=1_000, help="held-out pairs scored by length")
    ap.add_argument("--steps", type=int, default=1500, help="updates per model")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--plot", default="attention_vs_length.png", help="PNG to write ('' for none)")
    ap.add_argument("--json", default="", help="also write the numbers here")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    data = transduction_data("reverse", args.train, 200, args.test, seed=args.seed,
                             min_len=args.min_len, max_len=args.max_len)
    src_vocab, tgt_vocab = build_vocabularies(data["train"])
    task = Seq2SeqTask(data, src_vocab, tgt_vocab, batch_size=args.batch, seed=args.seed)
    ranges = buckets(args.min_len, args.max_len, args.bucket)
    epochs = math.ceil(args.steps / task.num_batches())
    results, summary = {}, {}
    for name, attention in (("no attention", False), ("attention", True)):
        torch.manual_seed(args.seed)
        model = Seq2Seq.build(len(src_vocab), len(tgt_vocab), cell=args.cell, hidden_size=args.hidden,
                        embedding_size=args.embedding, attention=attention)
        params = sum(p.numel() for p in model.parameters())
        start = time.perf_counter()
        Trainer(model, task, TrainConfig(epochs=epochs, max_steps=args.steps, lr=args.lr, clip_norm=1.0),
                progress=False, tensorboard=False).fit()
        seconds = time.perf_counter() - start
        results[name] = accuracy_by_length(model, task, "test", ranges)
        overall = task.evaluate(model, "test")
        summary[name] = {"params": params, "seconds": round(seconds, 1), **overall}
        print(f"{name:>12}: {params:,} parameters, {args.steps} updates in {seconds:.0f} s, "
              f"test exact match {overall['exact_match']:.3f}, token accuracy {overall['token_accuracy']:.3f}",
              flush=True)

    print(f"\nreversal, {args.cell.upper()} {args.hidden} units, exact match on held-out strings by length")
    print(f"| source length | n | {' | '.join(results)} |")
    print(f"|---|---:|{'---:|' * len(results)}")
    for k, (lo, hi) in enumerate(ranges):
        n = next(iter(results.values()))[k][0]
        cells = " | ".join(f"{100 * rows[k][1]:.1f}%" for rows in results.values())
        print(f"| {label(lo, hi)} | {n} | {cells} |")
    if args.plot:
        plot(ranges, results, args.plot, f"string reversal, {args.cell.upper()} {args.hidden}, "
             f"{args.steps} updates of {args.batch}")
        print(f"\nplot: {args.plot}")
    out = {"ranges": ranges, "by_length": results, "summary": summary, "args": vars(args)}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return out


if __name__ == "__main__":
    main()
