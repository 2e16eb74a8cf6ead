"""Choose the spoken-digits recipe on validation only: train each named variant on the FSDD
own split's training takes (10–49) and report its best validation accuracy (takes 5–9); the test
takes (0–4) are dropped from the task before training and never scored. Variants are JSON option
overrides of the digits recipe on top of examples/digits_table.py's model settings.

    python examples/digits_tune.py --data ../shared/data/fsdd \
        --variant base30 '{"model": "tdnn", "epochs": 30}' \
        --variant aug '{"model": "tdnn", "epochs": 30, "time_masks": 2}'

Results are appended to --results as JSON lines (variant, options, best validation accuracy and
its epoch, parameters, minutes); finished variants are skipped on a rerun.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from digits_table import COMMON, MODELS, fit  # noqa: E402
from rnnlab.recipes.digits import RECIPE  # noqa: E402
from rnnlab.recipes.recipe import parameters  # noqa: E402


def run_variant(data: str, overrides: dict, split: str) -> dict:
    overrides = dict(overrides)
    model = overrides.pop("model", "tdnn")
    options = RECIPE.options({**COMMON, **MODELS[model], "data": data, "split": split, **overrides})
    prepared, trainer, minutes, curve = fit(options, keep_test=False)  # test: dropped, never scored
    return {"model": model, "overrides": overrides, "valid_accuracy": 1.0 - trainer.best, "params":
            parameters(prepared.model), "minutes": minutes, "valid_curve": curve}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="own")
    p.add_argument("--variant", nargs=2, action="append", metavar=("NAME", "JSON"), required=True)
    p.add_argument("--results", default="docs/img/delay_digits_tuning.jsonl")
    args = p.parse_args()
    torch.set_num_threads(1)
    path = Path(args.results)
    done = {json.loads(line)["variant"] for line in path.read_text().splitlines()} if path.exists() else set()
    for name, text in args.variant:
        if name in done:
            continue
        r = {"variant": name, "split": args.split, **run_variant(args.data, json.loads(text), args.split)}
        print(f"{name:24s} valid {100 * r['valid_accuracy']:6.2f} %  {r['params']:,} params  {r['minutes']:.1f} min",
              flush=True)
        with path.open("a") as f:
            f.write(json.dumps(r) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
