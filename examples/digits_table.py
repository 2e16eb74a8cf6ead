"""Spoken digits (Free Spoken Digit Dataset): TDNN vs LSTM vs GRU vs bidirectional LSTM on
per-utterance-normalised log-mels, on the dataset's own split (takes 0–4 test) and speaker
independent (leave one speaker out, every speaker a fold: mean ± std), with parameters and
training minutes, and the confusion matrix of the best model on the own split.

    python examples/digits_table.py --data ../shared/data/fsdd              # the full protocol
    python examples/digits_table.py --data ../shared/data/fsdd --models tdnn --splits own

Every run goes through the digits recipe (the same as `rnnlab train --task digits ...`), with the
best validation weights scored on test. Results are appended to --results (JSON lines) as each run
finishes, and runs already there are skipped, so an interrupted table is continued by rerunning the
same command; `--max-minutes` stops starting new runs after that long. The markdown table and the
confusion plot are written from whatever the results file holds. Features (AUGMENT) are 13 MFCCs
(of 40 mel bands) with their deltas and delta-deltas, 39 per frame, normalised per utterance;
regularisation is dropout 0.1 and light augmentation: tempo perturbation ±10 %, a random crop of
up to 5 frames at each end, two SpecAugment time masks of up to 8 frames and two masks of up to 4
coefficients; 40 epochs with a cosine schedule — the recipe chosen on validation only by
examples/digits_tune.py. `--plain` gives the first, untuned protocol (40 log-mels, no
augmentation, 12 epochs, plateau halving); model selection is on validation either way.
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

from rnnlab.data.spoken_digits import read_digit_dir, speakers_of  # noqa: E402
from rnnlab.recipes.digits import RECIPE  # noqa: E402
from rnnlab.recipes.recipe import parameters  # noqa: E402
from rnnlab.train.checkpoint import load_weights  # noqa: E402
from rnnlab.train.config import TrainConfig  # noqa: E402
from rnnlab.train.trainer import Trainer  # noqa: E402

# the four encoders, each small enough for a shared 2-core machine
MODELS = {
    "tdnn": dict(cell="tdnn", hidden=64, layers=4, pool="stats"),
    "lstm": dict(cell="lstm", hidden=64, layers=2, pool="mean"),
    "gru": dict(cell="gru", hidden=64, layers=2, pool="mean"),
    "bilstm": dict(cell="lstm", hidden=48, layers=2, pool="mean", bidirectional=True),
}
COMMON = dict(task="digits", features="logmel", mels=40, epochs=12, lr=2e-3, batch_size=32, eval_batch_size=128,
              dropout=0.1, schedule="plateau", plateau_patience=1, seed=0, log_every=1000)
# the recipe chosen on validation (docs/img/delay_digits_tuning.jsonl), on top of COMMON
AUGMENT = dict(epochs=40, schedule="cosine", features="mfcc", mfcc=13, deltas=2, speed=0.1, shift=5, time_masks=2,
               time_mask_width=8, freq_masks=2, freq_mask_width=4)


def fit(options, *, keep_test: bool = True):
    """Train the digits recipe with `options`; the best validation weights are loaded back.
    Returns (prepared, trainer, minutes, validation accuracy per epoch). Without `keep_test` the
    test recordings are dropped before training (tuning never scores them)."""
    prepared = RECIPE.prepare(options)
    if not keep_test:
        prepared.task.splits.pop("test")
    with tempfile.TemporaryDirectory() as tmp:
        started = time.time()
        trainer = Trainer(prepared.model, prepared.task, TrainConfig.of(options), tmp, progress=False,
                          tensorboard=False)
        trainer.fit()
        minutes = (time.time() - started) / 60
        load_weights(prepared.model, Path(tmp) / Trainer.BEST)
    curve = [row["accuracy"] for row in trainer.log.rows if row["kind"] == "valid"]
    return prepared, trainer, minutes, curve


def run_one(data: str, model: str, split: str, epochs: int, extra: dict | None = None) -> dict:
    options = RECIPE.options({**COMMON, **(extra or {}), **MODELS[model], "data": data, "split": split,
                              "epochs": epochs})
    prepared, _, minutes, _ = fit(options)
    metrics, confusion = prepared.task.evaluate_with_confusion(prepared.model, "test")
    return {"model": model, "split": split, "accuracy": metrics["accuracy"], "params": parameters(prepared.model),
            "minutes": minutes, "epochs": epochs, "confusion": confusion.tolist(), "labels": prepared.task.labels,
            "options": {k: v for k, v in {**COMMON, **(extra or {}), **MODELS[model], "epochs": epochs}.items()}}


def table(results: list[dict], speakers: list[str]) -> str:
    lines = ["| model | parameters | own split: test accuracy | train min | speaker-independent: mean ± std "
             "(folds) | train min / fold |", "|---|---:|---:|---:|---:|---:|"]
    for model in MODELS:
        mine = [r for r in results if r["model"] == model]
        if not mine:
            continue
        own = [r for r in mine if r["split"] == "own"]
        folds = [r for r in mine if r["split"].startswith("speaker:")]
        own_txt = f"{100 * own[0]['accuracy']:.2f} %" if own else "not run"
        own_min = f"{own[0]['minutes']:.1f}" if own else ""
        if folds:
            accs = [100 * r["accuracy"] for r in folds]
            std = statistics.stdev(accs) if len(accs) > 1 else 0.0
            loso = f"{statistics.mean(accs):.1f} ± {std:.1f} ({len(folds)}/{len(speakers)})"
            loso_min = f"{statistics.mean(r['minutes'] for r in folds):.1f}"
        else:
            loso, loso_min = "not run", ""
        lines.append(f"| {model} | {mine[0]['params']:,} | {own_txt} | {own_min} | {loso} | {loso_min} |")
    folds = sorted({r["split"] for r in results if r["split"].startswith("speaker:")})
    if folds:
        lines += ["", "Per fold (held-out speaker: accuracy %):", ""]
        lines.append("| model | " + " | ".join(f.split(":")[1] for f in folds) + " |")
        lines.append("|---|" + "---:|" * len(folds))
        for model in MODELS:
            by = {r["split"]: r for r in results if r["model"] == model}
            if any(f in by for f in folds):
                lines.append(f"| {model} | " + " | ".join(f"{100 * by[f]['accuracy']:.1f}" if f in by else "–"
                                                            for f in folds) + " |")
    return "\n".join(lines)


def plot_confusion(result: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    m = torch.tensor(result["confusion"])
    fig, ax = plt.subplots(figsize=(4.6, 4))
    ax.imshow(m, cmap="Blues")
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            if m[i, j]:
                ax.text(j, i, int(m[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if m[i, j] > m.max() / 2 else "black")
    ax.set_xticks(range(len(result["labels"])), result["labels"])
    ax.set_yticks(range(len(result["labels"])), result["labels"])
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("spoken digit")
    ax.set_title(f"{result['model']}, own split: {100 * result['accuracy']:.2f} %", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="the FSDD folder (../shared/data/fsdd)")
    p.add_argument("--models", default=",".join(MODELS), help="comma-separated, from " + ", ".join(MODELS))
    p.add_argument("--splits", default="own,loso", help="own, loso (all speakers) or speaker:NAME, comma-separated")
    p.add_argument("--plain", action="store_true", help="the first protocol: no augmentation, 12 epochs, plateau")
    p.add_argument("--epochs", type=int, default=None, help="default: 40 (12 with --plain)")
    p.add_argument("--results", default=None, help="JSON lines (default docs/img/delay_digits_results_aug.jsonl, "
                                                   "or delay_digits_results.jsonl with --plain)")
    p.add_argument("--table", default=None, help="default docs/img/delay_digits_table_aug.md (--plain: "
                                                 "delay_digits_table.md)")
    p.add_argument("--plot", default=None, help="default docs/img/delay_digits_confusion.png (--plain: "
                                                "delay_digits_confusion_plain.png)")
    p.add_argument("--max-minutes", type=float, default=None, help="start no new run after this long")
    args = p.parse_args()
    extra = {} if args.plain else AUGMENT
    epochs = args.epochs or (COMMON["epochs"] if args.plain else AUGMENT["epochs"])
    args.results = args.results or ("docs/img/delay_digits_results.jsonl" if args.plain
                                    else "docs/img/delay_digits_results_aug.jsonl")
    args.table = args.table or f"docs/img/delay_digits_table{'' if args.plain else '_aug'}.md"
    args.plot = args.plot or f"docs/img/delay_digits_confusion{'_plain' if args.plain else ''}.png"
    torch.set_num_threads(1)
    speakers = speakers_of(read_digit_dir(args.data))
    splits = []
    for s in args.splits.split(","):
        splits += [f"speaker:{name}" for name in speakers] if s == "loso" else [s]
    results_path = Path(args.results)
    results_path.parent.mkdir(parents=True, exist_ok=True)
    results = [json.loads(line) for line in results_path.read_text().splitlines()] if results_path.exists() else []
    done = {(r["model"], r["split"]) for r in results}
    started = time.time()
    # own split of every model first, then the folds fold by fold: a cut table stays comparable
    for split in splits:
        for model in args.models.split(","):
            if (model, split) in done:
                continue
            if args.max_minutes is not None and (time.time() - started) / 60 > args.max_minutes:
                print(f"stopping: --max-minutes {args.max_minutes} reached; rerun to continue", flush=True)
                break
            r = run_one(args.data, model, split, epochs, extra)
            print(f"{model:7s} {split:18s} accuracy {100 * r['accuracy']:6.2f} %  {r['params']:,} params  "
                  f"{r['minutes']:.1f} min", flush=True)
            with results_path.open("a") as f:
                f.write(json.dumps(r) + "\n")
            results.append(r)
    text = table(results, speakers)
    Path(args.table).write_text(text + "\n")
    print(text)
    own = [r for r in results if r["split"] == "own"]
    if own:
        plot_confusion(max(own, key=lambda r: r["accuracy"]), Path(args.plot))
    return 0


if __name__ == "__main__":
    sys.exit(main())
