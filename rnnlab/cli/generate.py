"""`rnnlab generate RUN_DIR`: sample text from a trained language model, printed as it is produced."""
from __future__ import annotations

import argparse
import sys

import torch

from rnnlab.data import tokenize
from rnnlab.errors import DataError
from rnnlab.lm import generate
from rnnlab.recipes import language_model as recipe
from rnnlab.recipes.run_dir import RunDir

EOS = "<eos>"


def register(subparsers) -> None:
    p = subparsers.add_parser("generate", help="sample text from a trained language model")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--prime", default=None, help="text to start from (default: a new line)")
    p.add_argument("--length", type=int, default=500, help="tokens to generate (default 500)")
    p.add_argument("--temperature", type=float, default=0.8, help="softmax temperature; 0 = greedy (default 0.8)")
    p.add_argument("--top-k", type=int, default=None, help="sample only among the k most likely tokens")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: different every time)")
    p.add_argument("--weights", choices=("best", "last"), default="best", help="best validation or last checkpoint")
    p.set_defaults(func=run)


def prime_tokens(prime: str | None, level: str) -> list[str]:
    if level == "char":
        return list(prime) if prime else ["\n"]
    words = tokenize(prime, "word")[:-1] if prime else []  # no <eos> after the prime: it continues
    return words or [EOS]


@torch.no_grad()  # restores the caller's grad mode: the CLI can be called from Python
def run(args: argparse.Namespace) -> int:
    model, vocab, config = recipe.load(RunDir(args.run_dir), args.weights)
    level = recipe.level_of(config["options"])
    tokens = prime_tokens(args.prime, level)
    unknown = sorted({t for t in tokens if t not in vocab})
    if unknown:
        if vocab.unk is None:
            raise DataError(f"the prime contains tokens the model does not know: {unknown[:5]}")
        print(f"rnnlab generate: note: {unknown[:5]} not in the vocabulary, read as {vocab.unk}", file=sys.stderr)
    out = sys.stdout
    if args.prime:
        out.write(args.prime if level == "char" else args.prime + " ")
    for i in generate(model, vocab.encode(tokens), args.length, temperature=args.temperature,
                      top_k=args.top_k, seed=args.seed):
        token = vocab[i]
        out.write(token if level == "char" else ("\n" if token == EOS else token + " "))
        out.flush()
    out.write("\n")
    return 0
