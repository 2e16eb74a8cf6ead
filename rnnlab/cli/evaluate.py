"""`rnnlab eval RUN_DIR`: a trained model's metrics on a split — loss, perplexity (and bits per
character) for language models; slot F1 and intent accuracy for taggers; accuracy for
classifiers; exact match for encoder–decoders."""
from __future__ import annotations

import argparse
import json

import torch

from rnnlab.data import read_corpus
from rnnlab.lm.task import evaluate_stream
from rnnlab.recipes import language_model
from rnnlab.recipes.recipe import load_vocabs, recipe_of
from rnnlab.recipes.run_dir import RunDir
from rnnlab.train.checkpoint import load_weights


def register(subparsers) -> None:
    p = subparsers.add_parser("eval", help="evaluate a trained model on a data split")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--data", metavar="DIR", help="another data directory in the run's format (default: the run's own data)")
    p.add_argument("--split", default="test", choices=("train", "valid", "test"), help="default: test")
    p.add_argument("--batch-size", type=int, default=None, help="language models: parallel streams "
                   "(default: the run's eval_batch_size)")
    p.add_argument("--weights", choices=("best", "last"), default="best", help="best validation or last checkpoint")
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    p.set_defaults(func=run)


@torch.no_grad()  # restores the caller's grad mode: the CLI can be called from Python
def run(args: argparse.Namespace) -> int:
    run_dir = RunDir(args.run_dir)
    recipe, config = recipe_of(run_dir)
    if recipe is not language_model:
        return _evaluate_task(recipe, run_dir, config, args)
    recipe = language_model
    model, vocab, config = recipe.load(run_dir, args.weights)
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


def _evaluate_task(recipe, run_dir: RunDir, config: dict, args: argparse.Namespace) -> int:
    """Taggers, classifiers, encoder–decoders: rebuild the run's task on its data (or --data) and
    score the saved weights with the task's own evaluation."""
    options = dict(config["options"])
    if args.data:
        options.update(data=args.data, dataset=None)
    prepared = recipe.prepare(options, vocabs=load_vocabs(run_dir, recipe.VOCABS))
    if prepared.model.config() != config["model"]:
        from rnnlab.errors import CheckpointError
        raise CheckpointError(f"{run_dir.path}: the data's vocabularies no longer fit the saved model")
    load_weights(prepared.model, run_dir.weights(args.weights))
    if args.split not in prepared.task.splits:
        from rnnlab.errors import DataNotFoundError
        raise DataNotFoundError(f"the data has no {args.split!r} split")
    metrics = prepared.task.evaluate(prepared.model, args.split)
    if args.json:
        print(json.dumps({"split": args.split, **metrics}))
    else:
        print(f"{args.split}: {recipe.format_metrics(metrics)}")
    return 0
