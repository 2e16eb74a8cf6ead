"""`rnnlab classify RUN_DIR "text" ...`: the class of each text from a trained sequence classifier.

Texts come from the arguments, or one per line from standard input when none are given; each is
tokenised as the run's data was (characters for the built-in tasks, words or characters for
files). Prints the label and its probability, or every label's probability with --all.
"""
from __future__ import annotations

import argparse
import json

import torch

from rnnlab.classify.predict import LabelPredictor
from rnnlab.data.labelled import split_text
from rnnlab.cli.inputs import check_known, read_inputs
from rnnlab.recipes import classify as recipe
from rnnlab.recipes.run_dir import RunDir


def register(subparsers) -> None:
    p = subparsers.add_parser("classify", help="classify texts with a trained sequence classifier",
                              description=__doc__.split("\n\n")[1])
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("texts", nargs="*", metavar="TEXT", help="texts to classify (default: lines of stdin)")
    p.add_argument("--all", action="store_true", help="print every label's probability")
    p.add_argument("--json", action="store_true", help="one JSON object per text")
    p.add_argument("--weights", choices=("best", "last"), default="best", help="best validation or last checkpoint")
    p.set_defaults(func=run, rest_into="texts")


@torch.no_grad()
def run(args: argparse.Namespace) -> int:
    model, vocabs, config = recipe.load(RunDir(args.run_dir), args.weights)
    level = recipe.level(config["options"])
    texts = read_inputs(args.texts, "classify")
    sequences = [split_text(text, level) for text in texts]
    vocab = vocabs["tokens"]
    check_known("classify", sequences, vocab)
    predictor = LabelPredictor(model, vocab, vocabs["labels"], batch_size=config["options"]["eval_batch_size"])
    for text, (label, probs) in zip(texts, predictor.predict_many(sequences)):
        if args.json:
            print(json.dumps({"text": text, "label": label, "probabilities": probs}))
        elif args.all:
            ranked = sorted(probs.items(), key=lambda kv: -kv[1])
            print(f"{label}\t" + "  ".join(f"{k} {v:.3f}" for k, v in ranked) + f"\t{text}")
        else:
            print(f"{label}\t{probs[label]:.3f}\t{text}")
    return 0
