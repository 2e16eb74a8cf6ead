"""`rnnlab translate RUN_DIR "source" ...`: outputs of a trained encoder–decoder.

Sources come from the arguments, or one per line from standard input when none are given; each
is tokenised as the run's data was (characters or words). Decoding is greedy with `--beam 1`,
else beam search with GNMT length normalisation; the default is the run's own `beam` option.
"""
from __future__ import annotations

import argparse
import json

import torch

from rnnlab.data.labelled import split_text
from rnnlab.cli.inputs import check_known, read_inputs
from rnnlab.recipes import seq2seq as recipe
from rnnlab.recipes.run_dir import RunDir
from rnnlab.seq2seq.decoding import translate


def register(subparsers) -> None:
    p = subparsers.add_parser("translate", help="map sources to targets with a trained encoder-decoder",
                              description=__doc__.split("\n\n")[1])
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("sources", nargs="*", metavar="SOURCE", help="inputs (default: lines of stdin)")
    p.add_argument("--beam", type=int, default=None, help="beam width (1: greedy; default: the run's)")
    p.add_argument("--length-penalty", type=float, default=None, help="GNMT alpha (default: the run's)")
    p.add_argument("--max-len", type=int, default=200, help="longest output in tokens (default 200)")
    p.add_argument("--json", action="store_true", help="one JSON object per source")
    p.add_argument("--weights", choices=("best", "last"), default="best", help="best validation or last checkpoint")
    p.set_defaults(func=run, rest_into="sources")


@torch.no_grad()
def run(args: argparse.Namespace) -> int:
    model, vocabs, config = recipe.load(RunDir(args.run_dir), args.weights)
    options = config["options"]
    level = recipe.level(options)
    lines = read_inputs(args.sources, "translate")
    sources = [split_text(line, level) for line in lines]
    src_vocab = vocabs["source"]
    check_known("translate", sources, src_vocab)
    beam = options["beam"] if args.beam is None else args.beam
    alpha = options["length_penalty"] if args.length_penalty is None else args.length_penalty
    outputs = translate(model, src_vocab, vocabs["target"], sources, beam_size=beam, max_len=args.max_len,
                        length_penalty=alpha)
    join = "".join if level == "char" else " ".join
    for line, out in zip(lines, outputs):
        print(json.dumps({"source": line, "output": join(out)}) if args.json else join(out))
    return 0
