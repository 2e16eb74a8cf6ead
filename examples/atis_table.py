"""Slot filling on ATIS, per model type and seed, through the command line: the README's table
and docs/atis.md's.

    python examples/atis_table.py --data ../shared/data/atis --out runs/atis-table --jobs 2
    python examples/atis_table.py --data ../shared/data/atis --models bi-lstm-crf bi-lstm-crf-window

Each run is `rnnlab train --preset atis --data DIR --seed S` plus the model's flags (below), with
one thread per run; `--jobs` runs go side by side. Everything is chosen on the validation split
(the preset was tuned on it, and the test score is that of the best-validation weights); test
slot F1 is conlleval's chunk F1 (seqeval), counting the test set's tags and intents that never
occur in training as errors. Writes `results.json` and prints a markdown table of
mean ± standard deviation over the seeds. Runs already complete in --out are read, not redone.

Ensembles (`--ensembles`, on by default): for every model whose seeds all finished, the seeds'
runs are combined at prediction time (`rnnlab.recipes.tagging.load_ensemble`: averaged posteriors,
or averaged CRF scores decoded by Viterbi) and scored on valid and test — all the seeds together
(one number) and every pair of seeds (mean ± standard deviation over the pairs). The variant to
use is the one with the best mean valid F1; test F1 is only reported.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import itertools
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

UNI = ["--bidirectional", "false"]  # the preset's model is bidirectional
MODELS = {
    "elman": ["--cell", "elman", *UNI],
    "jordan": ["--cell", "elman", "--jordan-feedback", "onehot", *UNI],  # Mesnil et al.'s Elman + tag feedback
    "lstm": ["--cell", "lstm", *UNI],
    "gru": ["--cell", "gru", *UNI],
    "bi-lstm": ["--cell", "lstm", "--bidirectional", "true"],
    "bi-gru": ["--cell", "gru", "--bidirectional", "true"],
    # issue 16: what the literature added to the BiLSTM
    "bi-lstm-crf": ["--cell", "lstm", "--bidirectional", "true", "--crf", "true"],  # Huang et al. 2015
    "bi-lstm-crf-window": ["--cell", "lstm", "--bidirectional", "true", "--crf", "true", "--context", "1"],  # Mesnil 2015
    "bi-lstm-crf-chars": ["--cell", "lstm", "--bidirectional", "true", "--crf", "true", "--chars", "lstm"],  # Lample 2016
    "bi-lstm-crf-cnn": ["--cell", "lstm", "--bidirectional", "true", "--crf", "true", "--chars", "cnn"],  # Ma & Hovy 2016
    "bi-lstm-crf-wdrop": ["--cell", "lstm", "--bidirectional", "true", "--crf", "true", "--word-dropout", "0.1"],
    "bi-lstm-crf-cnn-wdrop": ["--cell", "lstm", "--bidirectional", "true", "--crf", "true", "--chars", "cnn",
                              "--word-dropout", "0.1"],
    "bi-lstm-window": ["--cell", "lstm", "--bidirectional", "true", "--context", "1"],
    "bi-lstm-chars": ["--cell", "lstm", "--bidirectional", "true", "--chars", "lstm"],
}
LABELS = {"elman": "Elman", "jordan": "Jordan (Elman + previous tag fed back)", "lstm": "LSTM", "gru": "GRU",
          "bi-lstm": "bidirectional LSTM", "bi-gru": "bidirectional GRU", "bi-lstm-crf": "bidirectional LSTM + CRF",
          "bi-lstm-crf-window": "bidirectional LSTM + CRF, window of ±1 word",
          "bi-lstm-crf-chars": "bidirectional LSTM + CRF + character BiLSTM (25 + 25)",
          "bi-lstm-crf-cnn": "bidirectional LSTM + CRF + character CNN (25 filters of width 3)",
          "bi-lstm-crf-wdrop": "bidirectional LSTM + CRF, word dropout 0.1",
          "bi-lstm-crf-cnn-wdrop": "bidirectional LSTM + CRF + character CNN, word dropout 0.1",
          "bi-lstm-window": "bidirectional LSTM, window of ±1 word",
          "bi-lstm-chars": "bidirectional LSTM + character BiLSTM (25 + 25)"}


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
        log = out / f"{model}-seed{seed}.log"
        with open(log, "w") as sink:
            proc = subprocess.Popen(cmd, env=env, stdout=sink, stderr=subprocess.STDOUT)
            # the child's own CPU time: on a shared machine, wall time counts the other jobs too
            _, status, usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{log.read_text()[-2000:]}")
        (run / "wall_seconds.txt").write_text(f"{time.time() - start:.1f}\n")
        (run / "cpu_seconds.txt").write_text(f"{usage.ru_utime + usage.ru_stime:.1f}\n")
    metrics = rows(run)
    valid = [r for r in metrics if r["kind"] == "valid"]
    best = min(valid, key=lambda r: r["error"])
    test = metrics[-1]
    wall = float((run / "wall_seconds.txt").read_text()) if (run / "wall_seconds.txt").is_file() else None
    cpu = float((run / "cpu_seconds.txt").read_text()) if (run / "cpu_seconds.txt").is_file() else None
    result = {"model": model, "seed": seed, "valid_f1": best["slot_f1"], "best_epoch": best["epoch"],
              "test_f1": test["slot_f1"], "test_intent_accuracy": test.get("intent_accuracy"),
              "epochs": len(valid), "wall_seconds": wall, "cpu_seconds": cpu}
    print(f"{model:8s} seed {seed}: valid F1 {100 * result['valid_f1']:.2f}  test F1 {100 * result['test_f1']:.2f}  "
          f"intent {100 * (result['test_intent_accuracy'] or 0):.2f}  {wall or 0:.0f} s ({cpu or 0:.0f} s CPU)", flush=True)
    return result


def ensemble(data: str, out: Path, model: str, seeds: list[int]) -> dict:
    """Valid and test scores of the runs of `model` with `seeds`, combined (cached in --out)."""
    cache = out / f"ensemble-{model}-{'-'.join(map(str, seeds))}.json"
    if cache.is_file():
        return json.loads(cache.read_text())
    from rnnlab.recipes.tagging import RECIPE, load_ensemble
    torch.set_num_threads(1)
    trained = load_ensemble([out / f"{model}-seed{s}" for s in seeds])
    start = time.time()
    scores = {split: RECIPE.evaluate(trained, split, data=data) for split in ("valid", "test")}
    result = {"model": model, "seeds": seeds, "valid_f1": scores["valid"]["slot_f1"],
              "test_f1": scores["test"]["slot_f1"], "test_intent_accuracy": scores["test"].get("intent_accuracy"),
              "eval_seconds": round(time.time() - start, 1)}
    cache.write_text(json.dumps(result, indent=1) + "\n")
    print(f"{model:8s} ensemble of seeds {seeds}: valid F1 {100 * result['valid_f1']:.2f}  "
          f"test F1 {100 * result['test_f1']:.2f}", flush=True)
    return result


def ensembles(data: str, out: Path, results: list[dict], models: list[str], seeds: list[int]) -> list[dict]:
    """Every model whose seeds all finished: all seeds together, and each pair of seeds."""
    combined = []
    for model in models:
        if len(seeds) < 2 or not all(finished(out / f"{model}-seed{s}") for s in seeds):
            continue
        groups = [list(seeds)] + ([list(p) for p in itertools.combinations(seeds, 2)] if len(seeds) > 2 else [])
        combined += [ensemble(data, out, model, g) for g in groups]
    return combined


def summary(results: list[dict], models: list[str], combined: list[dict] = ()) -> str:
    def stat(values: list[float]) -> str:
        values = [100 * v for v in values]
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.mean(values):.2f} ± {sd:.2f}"
    lines = ["| model | valid slot F1 | **test slot F1** | test intent accuracy | minutes per run: wall (CPU), 1 thread |",
             "|---|---:|---:|---:|---:|"]
    for model in models:
        mine = [r for r in results if r["model"] == model]
        walls = [r["wall_seconds"] for r in mine if r["wall_seconds"]]
        cpus = [r["cpu_seconds"] for r in mine if r.get("cpu_seconds")]
        minutes = (f"{statistics.median(walls) / 60:.1f}" if walls else "?") + (
            f" ({statistics.median(cpus) / 60:.1f})" if cpus else "")
        lines.append(f"| {LABELS[model]} | {stat([r['valid_f1'] for r in mine])} | **{stat([r['test_f1'] for r in mine])}** "
                     f"| {stat([r['test_intent_accuracy'] for r in mine])} | {minutes} |")
    for model in models:
        mine = [r for r in combined if r["model"] == model]
        everything = [r for r in mine if len(r["seeds"]) == max(len(q["seeds"]) for q in mine)]
        pairs = [r for r in mine if len(r["seeds"]) == 2 and r not in everything]
        for group, label in ((everything, f"ensemble of {len(mine[0]['seeds']) if mine else 0} seeds"),
                             (pairs, "ensembles of 2 seeds (each pair)")):
            if group:
                seeds = ", ".join("+".join(map(str, r["seeds"])) for r in group)
                lines.append(f"| {LABELS[model]}, {label}: {seeds} | {stat([r['valid_f1'] for r in group])} "
                             f"| **{stat([r['test_f1'] for r in group])}** "
                             f"| {stat([r['test_intent_accuracy'] for r in group])} | (the runs above) |")
    best = max(models, key=lambda m: statistics.mean([r["valid_f1"] for r in results if r["model"] == m] or [0]))
    lines.append(f"\nbest mean valid slot F1 of a single model: {LABELS[best]}")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="the ATIS directory (train/ valid/ test/ with seq.in, seq.out, label)")
    p.add_argument("--out", default="runs/atis-table", help="where the run directories go")
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--jobs", type=int, default=2, help="runs side by side, one thread each")
    p.add_argument("--ensembles", type=lambda s: s.lower() in ("1", "true", "yes"), default=True,
                   help="also score each model's seeds combined (true / false)")
    p.add_argument("extra", nargs=argparse.REMAINDER, help="after --: more `rnnlab train` flags for every run")
    args = p.parse_args()
    extra = args.extra[1:] if args.extra[:1] == ["--"] else args.extra
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(m, s) for m in args.models for s in args.seeds]
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda job: train(args.data, out, job[0], job[1], extra), jobs))
    combined = ensembles(args.data, out, results, args.models, args.seeds) if args.ensembles else []
    (out / "results.json").write_text(json.dumps({"runs": results, "ensembles": combined}, indent=1) + "\n")
    table = summary(results, args.models, combined)
    (out / "table.md").write_text(table + "\n")
    print()
    print(table)


if __name__ == "__main__":
    main()
