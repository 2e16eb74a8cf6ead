"""Slot filling on ATIS, per model type and seed, through the command line: the README's table.

    python examples/atis_table.py --data ../shared/data/atis --out runs/atis-table --jobs 2

Each run is `rnnlab train --preset atis --data DIR --seed S` plus the model's flags (below), with
one thread per run; `--jobs` runs go side by side. Everything is chosen on the validation split
(the preset was tuned on it, and the test score is that of the best-validation weights); test
slot F1 is conlleval's chunk F1 (seqeval), counting the test set's tags and intents that never
occur in training as errors. Writes `results.json` and prints a markdown table of
mean ± standard deviation over the seeds. Runs already complete in --out are read, not redone.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

UNI = ["--bidirectional", "false"]  # the preset's model is bidirectional
MODELS = {
    "elman": ["--cell", "elman", *UNI],
    "jordan": ["--cell", "elman", "--jordan-feedback", "onehot", *UNI],  # Mesnil et al.'s Elman + tag feedback
    "lstm": ["--cell", "lstm", *UNI],
    "gru": ["--cell", "gru", *UNI],
    "bi-lstm": ["--cell", "lstm", "--bidirectional", "true"],
    "bi-gru": ["--cell", "gru", "--bidirectional", "true"],
}
LABELS = {"elman": "Elman", "jordan": "Jordan (Elman + previous tag fed back)", "lstm": "LSTM", "gru": "GRU",
          "bi-lstm": "bidirectional LSTM", "bi-gru": "bidirectional GRU"}


def rows(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def finished(run: Path) -> bool:
    return (run / "metrics.jsonl").is_file() and rows(run)[-1]["kind"] == "test"


def train(data: str, out: Path, model: str, seed: int, extra: list[str]) -> dict:
    run = out / f"{model}-seed{seed}"
    if not finished(run):
        cmd = [sys.executable, "-m", "rnnlab", "train", "--preset", "atis", "--data", data, "--seed", str(seed),
               *MODELS[model], *extra, "--out", str(run), "--overwrite", "--no-progress"]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        start = time.time()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
        (run / "wall_seconds.txt").write_text(f"{time.time() - start:.1f}\n")
    metrics = rows(run)
    valid = [r for r in metrics if r["kind"] == "valid"]
    best = min(valid, key=lambda r: r["error"])
    test = metrics[-1]
    wall = float((run / "wall_seconds.txt").read_text()) if (run / "wall_seconds.txt").is_file() else None
    result = {"model": model, "seed": seed, "valid_f1": best["slot_f1"], "best_epoch": best["epoch"],
              "test_f1": test["slot_f1"], "test_intent_accuracy": test.get("intent_accuracy"),
              "epochs": len(valid), "wall_seconds": wall}
    print(f"{model:8s} seed {seed}: valid F1 {100 * result['valid_f1']:.2f}  test F1 {100 * result['test_f1']:.2f}  "
          f"intent {100 * (result['test_intent_accuracy'] or 0):.2f}  {wall or 0:.0f} s", flush=True)
    return result


def summary(results: list[dict], models: list[str]) -> str:
    def stat(values: list[float]) -> str:
        values = [100 * v for v in values]
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.mean(values):.2f} ± {sd:.2f}"
    lines = ["| model | valid slot F1 | **test slot F1** | test intent accuracy | minutes per run (1 thread) |",
             "|---|---:|---:|---:|---:|"]
    for model in models:
        mine = [r for r in results if r["model"] == model]
        walls = [r["wall_seconds"] for r in mine if r["wall_seconds"]]
        minutes = f"{statistics.median(walls) / 60:.1f}" if walls else "?"
        lines.append(f"| {LABELS[model]} | {stat([r['valid_f1'] for r in mine])} | **{stat([r['test_f1'] for r in mine])}** "
                     f"| {stat([r['test_intent_accuracy'] for r in mine])} | {minutes} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="the ATIS directory (train/ valid/ test/ with seq.in, seq.out, label)")
    p.add_argument("--out", default="runs/atis-table", help="where the run directories go")
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--jobs", type=int, default=2, help="runs side by side, one thread each")
    p.add_argument("extra", nargs=argparse.REMAINDER, help="after --: more `rnnlab train` flags for every run")
    args = p.parse_args()
    extra = args.extra[1:] if args.extra[:1] == ["--"] else args.extra
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(m, s) for m in args.models for s in args.seeds]
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda job: train(args.data, out, job[0], job[1], extra), jobs))
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    print()
    print(summary(results, args.models))


if __name__ == "__main__":
    main()
