"""Copy, repeat copy and associative recall: the NTM against an LSTM of a similar parameter count,
trained through rnnlab's Trainer, then tested beyond the training range (Graves et al. 2014, fig. 4–13).

    python examples/ntm_copy.py --task copy --kind ntm --compile --lr 3e-4 --target 0.05 --minutes 30 --out results.json
    python examples/ntm_copy.py --task copy --kind lstm --hidden 118 --seeds 0 --minutes 4 --out results.json
    python examples/ntm_copy.py --plot results.json --figure docs/img/ntm_copy.png
    python examples/ntm_copy.py --heatmaps saved/copy-ntm-s0 --figure docs/img/ntm_copy_heatmaps.png

Each run trains for at most --minutes (or --steps updates), then scores fresh sequences at each
test size (copy: lengths; repeat copy: repeats at length --test-length; recall: items) as bits wrong
per sequence. Results are appended to --out (JSON lines), one line per run, with the wall time.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from rnnlab.memory.model import BitSequenceModel
from rnnlab.memory.task import BitSequenceTask
from rnnlab.train import TrainConfig, Trainer, seed_everything
from rnnlab.train.checkpoint import load_weights, write_tensors

TEST_SIZES = {"copy": [10, 20, 30, 40, 60, 80, 120], "repeat-copy": [5, 10, 12, 15, 20], "recall": [3, 6, 8, 10, 12]}
TRAIN = {"copy": dict(bits=8, min_size=1, max_size=20),
         "repeat-copy": dict(bits=8, min_size=1, max_size=10, min_repeats=1, max_repeats=10),
         "recall": dict(bits=6, min_size=2, max_size=6, item_length=3)}


class UntilConverged(Trainer):
    """The Trainer, stopping at the end of the first epoch whose validation error (bits wrong per
    sequence over the training range) is below `target`: the convergence bar, then the
    generalisation test, without spending the rest of the time budget."""

    def __init__(self, *args, target: float | None = None, after: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self.target, self.after, self.t0 = target, after, time.time()
        self.converged_at: int | None = None

    def _end_epoch(self):
        stopped = super()._end_epoch()
        v = self.last_valid
        print(f"    update {self.step}: valid {v['bit_errors']:.3f} bits wrong per sequence, {100 * v['exact']:.0f}% exact "
              f"({time.time() - self.t0:.0f} s)", flush=True)
        if self.converged_at is None and self.target is not None and v["bit_errors"] < self.target:
            self.converged_at = self.step
        if stopped is None and self.converged_at is not None and self.step >= self.converged_at + self.after:
            return "converged"
        return stopped


def run(args, seed: int) -> dict:
    task = BitSequenceTask(args.task, batch_size=args.batch, updates_per_epoch=100, eval_sequences=64,
                           data_seed=seed, curriculum=args.curriculum, **TRAIN[args.task])
    seed_everything(seed)
    model = BitSequenceModel.build(task.input_width, task.output_width, kind=args.kind, hidden_size=args.hidden,
                                   memory_slots=args.slots, memory_width=args.width)
    if args.compile and args.kind == "ntm":
        model.encoder.cell.compile_step()
    config = TrainConfig(epochs=10_000, optimizer="adam", lr=args.lr, clip_norm=args.clip, seed=seed,
                         max_steps=args.steps, max_time=args.minutes * 60)
    t0 = time.time()
    trainer = UntilConverged(model, task, config, None, progress=False, tensorboard=False, target=args.target,
                             after=args.after)
    summary = trainer.fit()
    wall = time.time() - t0
    print(f"  {args.task} {args.kind} seed {seed}: {summary['stopped']} after {summary['step']} updates, "
          f"{wall / 60:.1f} min, valid {summary['valid']}", flush=True)
    results = {}
    for size in TEST_SIZES[args.task]:
        if args.task == "repeat-copy":
            m = task.evaluate_at(model, size=args.test_length, repeats=size, sequences=args.test_sequences)
        else:
            m = task.evaluate_at(model, size=size, sequences=args.test_sequences)
        results[str(size)] = m["bit_errors"]
        print(f"  {args.task} {args.kind} seed {seed}: size {size}: {m['bit_errors']:.3f} bits wrong per sequence",
              flush=True)
    if args.save:  # the trained model, for --heatmaps (safetensors + its build config)
        out = Path(args.save) / f"{args.task}-{args.kind}-s{seed}"
        out.mkdir(parents=True, exist_ok=True)
        write_tensors(out / "model.safetensors", model.state_dict())
        (out / "model.json").write_text(json.dumps(model.config()))
    return {"task": args.task, "kind": args.kind, "seed": seed, "parameters": sum(p.numel() for p in model.parameters()),
            "updates": summary["step"], "wall_s": round(wall, 1), "lr": args.lr, "batch": args.batch,
            "curriculum": args.curriculum, "clip": args.clip, "compiled": bool(args.compile and args.kind == "ntm"),
            "stopped": summary["stopped"], "converged_at": trainer.converged_at, "after": args.after, "valid": summary["valid"], "test": results}


def plot(path: str, figure: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = [json.loads(line) for line in open(path) if line.strip()]
    for task in sorted({r["task"] for r in rows}):
        fig, ax = plt.subplots(figsize=(6, 4))
        for r in (r for r in rows if r["task"] == task):
            sizes = [int(s) for s in r["test"]]
            state = {"converged": ", converged"}.get(r.get("stopped"), ", not converged" if "stopped" in r else "")
            ax.plot(sizes, [max(v, 1e-2) for v in r["test"].values()], "o-" if r["kind"] == "ntm" else "s--",
                    label=f"{r['kind'].upper()} seed {r['seed']} ({r['updates']} updates{state})",
                    alpha=1.0 if r.get("stopped", "converged") == "converged" else 0.6)
        if task.startswith("copy"):  # guessing every bit: half of the output bits wrong
            bits = 4 if task == "copy-small" else 8
            sizes = sorted({int(s) for r in rows if r["task"] == task for s in r["test"]})
            ax.plot(sizes, [bits / 2 * s for s in sizes], ":", color="grey", label=f"chance ({bits // 2} bits per vector)")
        ax.set_yscale("log")
        ax.set_xlabel({"repeat-copy": "repeats", "recall": "items"}.get(task, "sequence length"))
        ax.set_ylabel("bits wrong per sequence (0 drawn at 0.01)")
        ax.axvline({"copy": 20, "copy-small": 5, "repeat-copy": 10, "recall": 6}.get(task, 20), color="grey", lw=0.8,
                   ls=":")
        ax.set_title(f"{task}: trained up to the dotted line")
        ax.legend(fontsize=7)
        fig.tight_layout()
        out = figure.replace("copy.png", f"{task.replace('-', '_')}.png") if task != "copy" else figure
        fig.savefig(out, dpi=110)
        print("wrote", out)


def heatmaps(saved: str, figure: str, lengths: list[int]) -> None:
    """The figure every NTM paper shows: for one fresh sequence per length, the input, the write and
    read weightings over the memory rows (used rows only) and the output, step by step."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from rnnlab.datasets.ntm_tasks import make_batch
    from rnnlab.explore.record_memory import record_ntm
    config = json.loads((Path(saved) / "model.json").read_text())
    model = BitSequenceModel.from_config(config)
    load_weights(model, Path(saved) / "model.safetensors")
    bits = config["output_width"]
    g = torch.Generator().manual_seed(123)
    recordings = record_ntm(model, [make_batch("copy", 1, L, bits=bits, generator=g) for L in lengths], bits)
    fig, axes = plt.subplots(4, len(lengths), figsize=(4.2 * len(lengths), 7.5), squeeze=False,
                             gridspec_kw={"height_ratios": [1, 2.2, 2.2, 1]})
    for col, (L, rec) in enumerate(zip(lengths, recordings)):
        v = rec.values
        write, read = v["encoder/write"], v["encoder/read"]                       # (T, N) per head 1
        rows = max(int(write.argmax(1).max()), int(read.argmax(1).max())) + 3        # the rows in use
        panels = [("input", v["io/input"].T, "bit"), ("write weighting", write[:, :rows].T, "memory row"),
                  ("read weighting", read[:, :rows].T, "memory row"), ("output", v["io/output"].T, "bit")]
        for row, (name, image, ylabel) in enumerate(panels):
            ax = axes[row][col]
            ax.imshow(image, aspect="auto", cmap="gray_r", interpolation="nearest", vmin=0, vmax=1)
            ax.set_title(f"{name}, length {L}" if row == 0 else name, fontsize=9)
            ax.set_ylabel(ylabel, fontsize=8)
            ax.tick_params(labelsize=7)
        axes[-1][col].set_xlabel("time step", fontsize=8)
    fig.tight_layout()
    fig.savefig(figure, dpi=100)
    print("wrote", figure)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", default="copy", choices=tuple(TRAIN))
    p.add_argument("--kind", default="ntm", help="ntm, or a cell name for the baseline (lstm)")
    p.add_argument("--hidden", type=int, default=100, help="controller units (NTM) or LSTM units")
    p.add_argument("--slots", type=int, default=128)
    p.add_argument("--width", type=int, default=20)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--clip", type=float, default=10.0, help="gradient norm clipping")
    p.add_argument("--compile", action="store_true", help="NTM: torch.compile its step (NTMCell.compile_step)")
    p.add_argument("--target", type=float, default=None,
                   help="stop at the first epoch end whose validation bits wrong per sequence is below this")
    p.add_argument("--after", type=int, default=0, help="with --target: train this many more updates once converged")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--curriculum", type=int, default=0, help="updates over which the longest length grows to the max")
    p.add_argument("--minutes", type=float, default=5.0)
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--test-length", type=int, default=10, help="repeat copy: the sequence length of the repeats test")
    p.add_argument("--test-sequences", type=int, default=64)
    p.add_argument("--out", default=None, help="append one JSON line per run")
    p.add_argument("--save", metavar="DIR", help="save each trained model under DIR/<task>-<kind>-s<seed>/")
    p.add_argument("--heatmaps", metavar="SAVED", help="draw the weightings of a saved copy model instead of training")
    p.add_argument("--heatmap-lengths", type=int, nargs="+", default=[20, 40])
    p.add_argument("--plot", metavar="RESULTS", help="plot a results file instead of training")
    p.add_argument("--figure", default="docs/img/ntm_copy.png")
    args = p.parse_args()
    if args.plot:
        return plot(args.plot, args.figure)
    if args.heatmaps:
        return heatmaps(args.heatmaps, args.figure, args.heatmap_lengths)
    torch.set_num_threads(1)
    for seed in args.seeds:
        row = run(args, seed)
        print(json.dumps(row), flush=True)
        if args.out:
            with open(args.out, "a") as f:
                f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
