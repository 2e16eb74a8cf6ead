"""The Stanford Sentiment Treebank table: Tree-LSTM (every phrase label used) against a sequential
BiLSTM (sentence labels only), fine-grained and binary, test root accuracy with the weights chosen
on dev root accuracy, mean ± std over seeds. No pre-trained word vectors (none can be downloaded):
every embedding is learned from scratch.

    python examples/sst_table.py --data ../shared/data/sst                 # 3 seeds, both models, both schemes
    python examples/sst_table.py --data ../shared/data/sst --seeds 0 --max-minutes 15
    python examples/sst_table.py --data ../shared/data/sst --out runs/sst-e16 --epochs 16 --models tree-lstm
                                 # another --epochs needs another --out: a finished run is reused as it is

Each run is one `rnnlab train` into OUT/<model>-<labels>-s<seed> followed by `rnnlab eval --json` on
test; a finished run (its result.json) is not redone, so the command is rerunnable and resumes
where it stopped. The BiLSTM reads the trees' sentences (leaves in order) as 'label<TAB>text'
files written to OUT/text-<labels>/, through the classify recipe. The table (OUT/sst_table.md) is
printed at the end, beside the published rows.

Ensemble row (`--ensembles`, on by default): once every seed of the Tree-LSTM has finished for a
label scheme, the seed models are combined at prediction time (`rnnlab.recipes.sentiment.
load_ensemble`: every node's class posterior averaged over the seeds) and scored on dev and test —
one number per scheme, not a mean over seeds. Nothing about it is chosen on test: each member's
weights are its own best-dev epoch and the members are simply all the seeds.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rnnlab.data.trees import read_tree_dir, sst_binary  # noqa: E402

PUBLISHED = [  # fine-grained / binary test root accuracy, learned (not pre-trained) word vectors unless said
    ("RNN (Socher et al. 2013)", "43.2", "82.4"),
    ("MV-RNN (Socher et al. 2013)", "44.4", "82.9"),
    ("RNTN (Socher et al. 2013)", "45.7", "85.4"),
    ("Constituency Tree-LSTM, random vectors (Tai et al. 2015)", "43.9", "82.0"),
    ("Constituency Tree-LSTM, tuned GloVe (Tai et al. 2015)", "51.0", "88.0"),
]
MODELS = {
    # the `sst` preset: binary Tree-LSTM 150 / embeddings 150, dropout 0.5, Adam 2e-3, batch 25
    "tree-lstm": ["--task", "sentiment", "--preset", "sst"],
    # the same sizes and training over the sentence as a word sequence (mean of the BiLSTM's states)
    "bilstm": ["--task", "classify", "--level", "word", "--cell", "lstm", "--bidirectional", "true", "--layers", "1",
               "--hidden", "150", "--embedding", "150", "--dropout", "0.5", "--pool", "mean", "--batch-size", "25",
               "--eval-batch-size", "256", "--lr", "2e-3", "--clip-norm", "5", "--log-every", "50"],
}


def write_text_data(data: Path, out: Path, labels: str) -> Path:
    """The sentences of the trees as label<TAB>text files (binary: neutral sentences dropped)."""
    target = out / f"text-{labels}"
    if (target / "test.tsv").is_file():
        return target
    target.mkdir(parents=True, exist_ok=True)
    for split, trees in read_tree_dir(data).items():
        lines = []
        for t in trees:
            label = sst_binary(t.label) if labels == "binary" else t.label
            if label is not None:
                lines.append(f"{label}\t{' '.join(t.leaves())}")
        (target / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def rnnlab(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    return subprocess.run([sys.executable, "-m", "rnnlab", *args], env=env, capture_output=True, text=True)


def run_one(model: str, labels: str, seed: int, args) -> dict:
    run = args.out / f"{model}-{labels}-s{seed}"
    result = run / "result.json"
    if result.is_file():
        return json.loads(result.read_text())
    data = str(args.data) if model == "tree-lstm" else str(write_text_data(args.data, args.out, labels))
    extra = ["--labels", labels] if model == "tree-lstm" else []
    start = time.time()
    train = rnnlab("train", *MODELS[model], *extra, "--data", data, "--seed", str(seed), "--epochs", str(args.epochs),
                   "--max-time", str(60 * args.max_minutes), "--out", str(run), "--overwrite", "--no-progress")
    minutes = (time.time() - start) / 60
    (args.out / f"{run.name}.log").write_text(train.stdout + train.stderr)
    if train.returncode != 0:
        raise SystemExit(f"{run.name}: training failed:\n{train.stderr[-2000:]}")
    test = rnnlab("eval", str(run), "--split", "test", "--json")
    if test.returncode != 0:
        raise SystemExit(f"{run.name}: eval failed: {test.stderr}")
    valid = rnnlab("eval", str(run), "--split", "valid", "--json")
    epochs = sum(1 for line in (run / "metrics.jsonl").read_text().splitlines() if '"kind": "valid"' in line)
    out = {"model": model, "labels": labels, "seed": seed, "test": json.loads(test.stdout)["accuracy"],
           "dev": json.loads(valid.stdout)["accuracy"], "minutes": minutes, "epochs_evaluated": epochs,
           "stopped_by_time": "max_time" in train.stderr}
    result.write_text(json.dumps(out, indent=1))
    return out


def ensemble(labels: str, seeds: list[int], args) -> dict | None:
    """Dev and test root accuracy of the Tree-LSTM seed runs of `labels` combined (cached in OUT)."""
    runs = [args.out / f"tree-lstm-{labels}-s{seed}" for seed in seeds]
    if len(runs) < 2 or not all((run / "result.json").is_file() for run in runs):
        return None
    cache = args.out / f"ensemble-tree-lstm-{labels}-s{'-'.join(map(str, seeds))}.json"
    if cache.is_file():
        return json.loads(cache.read_text())
    import torch
    from rnnlab.recipes.sentiment import RECIPE, load_ensemble
    torch.set_num_threads(1)
    start = time.time()
    trained = load_ensemble(runs)
    scores = {split: RECIPE.evaluate(trained, split, data=str(args.data)) for split in ("valid", "test")}
    out = {"model": "tree-lstm", "labels": labels, "seeds": seeds, "dev": scores["valid"]["accuracy"],
           "test": scores["test"]["accuracy"], "eval_seconds": round(time.time() - start, 1)}
    cache.write_text(json.dumps(out, indent=1))
    return out


def table(results: list[dict], ensembles: list[dict] = ()) -> str:
    def cell(model, labels):
        rs = [r for r in results if r["model"] == model and r["labels"] == labels]
        if not rs:
            return "not run", ""
        acc = [100 * r["test"] for r in rs]
        sd = f" ± {statistics.stdev(acc):.1f}" if len(acc) > 1 else ""
        mins = statistics.mean(r["minutes"] for r in rs)
        dev = statistics.mean(100 * r["dev"] for r in rs)
        return f"{statistics.mean(acc):.1f}{sd} (dev {dev:.1f}; n={len(acc)})", f"{mins:.0f}"

    lines = ["| model (no pre-trained vectors unless said) | fine-grained | binary | minutes per run |",
             "|---|---|---|---|"]
    lines += [f"| {name} | {fine} | {binary} | published |" for name, fine, binary in PUBLISHED]
    for model, name in (("tree-lstm", "rnnlab binary Tree-LSTM 150, all phrase labels"),
                        ("bilstm", "rnnlab BiLSTM 150 over words, sentence labels only")):
        (f, fm), (b, bm) = cell(model, "fine"), cell(model, "binary")
        lines.append(f"| {name} | {f} | {b} | {fm or '–'} / {bm or '–'} |")
    if ensembles:
        def one(labels):
            e = [e for e in ensembles if e["labels"] == labels]
            return f"{100 * e[0]['test']:.1f} (dev {100 * e[0]['dev']:.1f})" if e else "not run"
        seeds = ", ".join(map(str, ensembles[0]["seeds"]))
        lines.append(f"| rnnlab Tree-LSTM, ensemble of the {len(ensembles[0]['seeds'])} seed models (seeds {seeds}; "
                     f"averaged posteriors; one number, not a mean) | {one('fine')} | {one('binary')} | (the runs above) |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "sst")
    p.add_argument("--out", type=Path, default=ROOT / "runs" / "sst")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    p.add_argument("--labels", nargs="+", default=["fine", "binary"], choices=["fine", "binary"])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--max-minutes", type=float, default=28.0, help="per run: stop training after this (resumably)")
    p.add_argument("--ensembles", action=argparse.BooleanOptionalAction, default=True,
                   help="add the row of the Tree-LSTM seeds' ensemble (averaged posteriors), per label scheme")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    results = []
    for seed in args.seeds:
        for labels in args.labels:
            for model in args.models:
                r = run_one(model, labels, seed, args)
                print(json.dumps(r), flush=True)
                results.append(r)
    combined = []
    if args.ensembles and "tree-lstm" in args.models:
        for labels in args.labels:
            e = ensemble(labels, args.seeds, args)
            if e is not None:
                print(json.dumps(e), flush=True)
                combined.append(e)
    text = (f"{args.epochs} epochs per run (weights of the best dev epoch), seeds {', '.join(map(str, args.seeds))}\n\n"
            + table(results, combined))
    (args.out / "sst_table.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
