"""`rnnlab tag RUN_DIR "sentence" ...`: slot tags (and the intent) from a trained tagger.

Sentences come from the arguments, or one per line from standard input when none are given.
Words are split on whitespace and lower-cased words are not assumed: the text is read as typed,
so type it the way the training data was written (ATIS is lower case). Words the model never saw
are read as <unk> (and through their letter trigrams); they are listed on stderr.
"""
from __future__ import annotations

import argparse
import json

import torch

from rnnlab.cli.inputs import check_known, read_inputs
from rnnlab.recipes import tagging as recipe
from rnnlab.recipes.run_dir import RunDir


def register(subparsers) -> None:
    p = subparsers.add_parser("tag", help="tag words of sentences with a trained tagger (slot filling)",
                              description=__doc__.split("\n\n")[1])
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("sentences", nargs="*", metavar="SENTENCE", help="sentences to tag (default: lines of stdin)")
    p.add_argument("--format", choices=("columns", "pairs", "json"), default="columns",
                   help="columns: a word and its tag per line (default); pairs: word/TAG on one line; "
                        "json: one object per sentence")
    p.add_argument("--weights", choices=("best", "last"), default="best", help="best validation or last checkpoint")
    p.set_defaults(func=run, rest_into="sentences")


@torch.no_grad()
def run(args: argparse.Namespace) -> int:
    model, filler, _ = recipe.load(RunDir(args.run_dir), args.weights)
    sentences = [line.split() for line in read_inputs(args.sentences, "tag")]
    check_known("tag", sentences, model.features.word_vocab,
                " and their letter trigrams" if model.features.trigrams else "")
    for words, (tags, intent) in zip(sentences, filler.predict_many(sentences)):
        if args.format == "json":
            print(json.dumps({"words": words, "tags": tags, **({"intent": intent} if intent else {})}))
            continue
        if args.format == "pairs":
            print(" ".join(f"{w}/{t}" for w, t in zip(words, tags)))
        else:
            width = max(map(len, words))
            print("\n".join(f"{w:<{width}}  {t}" for w, t in zip(words, tags)))
        if intent:
            print(f"intent: {intent}")
        if args.format == "columns" and len(sentences) > 1:
            print()
    return 0
