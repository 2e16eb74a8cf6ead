"""`rnnlab eval RUN_DIR`: loss, perplexity (and bits per character) of a trained model on a split."""
from __future__ import annotations

import argparse
import json

import torch

from rnnlab.data import read_corpus
from rnnlab.lm.task import evaluate_stream
from rnnlab.runs import language_model as recipe
from rnnlab.runs.run_dir import RunDir


def register(subparsers) -> None:
    p = subparsers.add_parser("eval", help="evaluate a trained model on a data split")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--data", metavar="DIR", help="another corpus directory (default: the run's own data)")
    p.add_argument("--split", default="test", choices=("train", "valid", "test"), help="default: test")
    p.add_argument("--batch-size", type=int, default=None, help="parallel streams (default: the run's eval_batch_size)")
    p.add_argument("--weights", choices=("best", "last"), default="best", help="best validation or last checkpoint")
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    p.set_defaults(func=run)


@torch.no_grad()  # restores the caller's grad mode: the CLI can be called from Python
def run(args: argparse.Namespace) -> int:
    model, vocab, config = recipe.load(RunDir(args.run_dir), args.weights)
    options = config["options"]
    level = recipe.level_of(options)
    if args.data:
        texts = read_corpus(args.data, splits=(args.split,))
    else:
        texts = recipe.load_texts({**options, "data": options["data"]})[0]
        if args.split not in texts:
            from rnnlab.errors import DataNotFoundError
            raise DataNotFoundError(f"the run's data has no {args.split!r} split")
    ids = recipe.encode({args.split: texts[args.split]}, level, vocab)[args.split]
    metrics = evaluate_stream(model, ids, args.batch_size or options["eval_batch_size"], level)
    if args.json:
        print(json.dumps({"split": args.split, **metrics}))
    else:
        extra = f"  bits/char {metrics['bpc']:.4f}" if "bpc" in metrics else ""
        print(f"{args.split}: loss {metrics['loss']:.4f}  perplexity {metrics['ppl']:.2f}{extra}  ({metrics['tokens']:,} tokens)")
    return 0
