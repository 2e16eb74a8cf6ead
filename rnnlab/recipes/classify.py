"""The sequence-classification recipe: options → labelled sequences, vocabularies,
`SequenceClassifier` and `ClassificationTask`.

Built-in data (`--dataset`): balanced brackets (the default), parity of a bit string, or the embedded Reber
grammar — character level, generated in code, both classes equally often and with the same
length distribution. With `--data DIR`: `label<TAB>text` lines in {train,valid,test}.tsv/.txt,
tokenised by words (default) or characters (`--level`); unseen tokens map to <unk>.
`--pool last|mean` reads the class from the last state or the mean of all states.
"""
from __future__ import annotations

from rnnlab.classify.model import POOLS, SequenceClassifier
from rnnlab.classify.task import ClassificationTask
from rnnlab.data.labelled import LEVELS, read_labelled_dir
from rnnlab.data.vocab import Vocabulary
from rnnlab.recipes.recipe import Prepared, check_cell, check_choice, check_data_options, fingerprint, load_trained, split_sizes
from rnnlab.recipes.run_dir import RunDir
from rnnlab.datasets.grammar import CLASSIFICATION_DATASETS, classification_data
from rnnlab.train.trainer import seed_everything

TASKS = ("classify",)
VOCABS = ("tokens", "labels")
USE = 'classify with: rnnlab classify {run} "(()())" (or any text, one per argument or line of stdin)'


def dataset(options: dict) -> str:
    return options["dataset"] or "balanced"


def level(options: dict) -> str:
    return "char" if options["data"] is None else options["level"] or "word"


def validate(options: dict) -> None:
    check_cell(options)
    check_choice(options, "pool", POOLS)
    check_data_options(options, CLASSIFICATION_DATASETS, LEVELS, file_level="word")


def load_examples(options: dict) -> tuple[dict, dict]:
    if options["data"] is None:
        n_train, n_valid, n_test = split_sizes(options["train_examples"] or 4000)
        splits = classification_data(dataset(options), n_train, n_valid, n_test, seed=options["data_seed"],
                                     min_len=options["min_len"], max_len=options["max_len"])
        info = {"source": f"built-in:{dataset(options)}"}
    else:
        splits = read_labelled_dir(options["data"], level(options))
        info = {"source": str(options["data"]), "level": level(options)}
    info["sha256"] = {s: fingerprint([[ex.label, list(ex.tokens)] for ex in exs]) for s, exs in splits.items()}
    info["examples"] = {s: len(exs) for s, exs in splits.items()}
    return splits, info


def prepare(options: dict, vocabs: dict[str, Vocabulary] | None = None) -> Prepared:
    validate(options)
    splits, info = load_examples(options)
    vocabs = dict(vocabs or {})
    if "tokens" not in vocabs:
        vocabs["tokens"] = ClassificationTask.build_vocab(splits["train"], min_count=options["min_count"],
                                                          max_size=options["max_vocab"])
    task = ClassificationTask(splits, vocabs["tokens"], vocabs.get("labels"), batch_size=options["batch_size"],
                              eval_batch_size=options["eval_batch_size"], seed=options["seed"])
    vocabs["labels"] = task.label_vocab
    seed_everything(options["seed"])
    model = SequenceClassifier.build(len(vocabs["tokens"]), task.num_classes, cell=options["cell"],
                               hidden_size=options["hidden"], num_layers=options["layers"],
                               bidirectional=options["bidirectional"],
                               embedding_size=options["hidden"] if options["embedding"] is None else options["embedding"],
                               dropout=options["dropout"], pool=options["pool"])
    info.update(vocab_size=len(vocabs["tokens"]), classes=task.num_classes)
    return Prepared(model, task, vocabs, info)


def load(run: RunDir, weights: str = "best") -> tuple[SequenceClassifier, dict[str, Vocabulary], dict]:
    return load_trained(run, TASKS, VOCABS, weights, SequenceClassifier.from_config)


def describe(prepared: Prepared, options: dict) -> str:
    info = prepared.data_info
    params = sum(p.numel() for p in prepared.model.parameters())
    sizes = ", ".join(f"{s} {n:,}" for s, n in info["examples"].items())
    kind = ("bidirectional " if options["bidirectional"] else "") + options["cell"]
    return (f"classify on {info['source']}: {sizes} examples; vocabulary {info['vocab_size']:,}, "
            f"{info['classes']} classes\n{options['layers']} x {options['hidden']} {kind}, reading the "
            f"{options['pool']} state, {params:,} parameters, {prepared.task.num_batches():,} updates per epoch")


def format_metrics(metrics: dict) -> str:
    return f"accuracy {100 * metrics['accuracy']:.2f}%, loss {metrics['loss']:.4f}"
