"""The language-model recipe: options → data, vocabulary, model and task; run directory → model.

Character level (`lm-char`) reads text as characters; word level (`lm-word`) splits on
whitespace with an `<eos>` after every line, as in Mikolov's PTB setup. The synthetic memory
tasks (`counting`, `start-symbol`, ...) are character language models on generated strings:
predicting the next character of a^N X b^N requires counting the a's. The vocabulary is built
on the training split only; tokens it lacks map to `<unk>`.
"""
from __future__ import annotations

import hashlib

from torch import Tensor

from rnnlab.cells.registry import CELLS
from rnnlab.data import Vocabulary, corpus_files, corpus_info, read_corpus, stdlib_corpus, tokenize
from rnnlab.errors import ConfigError
from rnnlab.lm import LanguageModel, LanguageModelTask
from rnnlab.recipes.recipe import Prepared
from rnnlab.recipes.run_dir import RunDir
from rnnlab.datasets.synthetic import SYNTHETIC_DATASETS, synthetic_corpus
from rnnlab.train.checkpoint import load_weights
from rnnlab.train.trainer import seed_everything

TASKS = {"lm-char": "char", "lm-word": "word", **{name: "char" for name in SYNTHETIC_DATASETS}}
VOCABS = ("vocab",)
USE = "sample with: rnnlab generate {run}"


def level_of(options: dict) -> str:
    if options["task"] not in TASKS:
        raise ConfigError(f"unknown task {options['task']!r}; choose one of: {', '.join(TASKS)}")
    return TASKS[options["task"]]


def validate(options: dict) -> None:
    """Cheap checks that should fail before any data is read."""
    level_of(options)
    if options["cell"] not in CELLS:
        raise ConfigError(f"unknown cell {options['cell']!r}; choose one of: {', '.join(CELLS)}")


def load_texts(options: dict) -> tuple[dict[str, str], dict]:
    """The raw text of each split, and a description of where it came from (with fingerprints)."""
    if options["task"] in SYNTHETIC_DATASETS:  # a memory task's strings, one per line, made in code
        if options["data"] is not None:
            raise ConfigError(f"task {options['task']!r} generates its own data; drop --data")
        texts = synthetic_corpus(options["task"], max_chars=options["max_chars"] or 200_000,
                                 seed=options["data_seed"])
        info = {"source": f"synthetic:{options['task']}"}
    elif options["data"] is None:
        texts = stdlib_corpus(options["max_chars"])
        info = {"source": "python-stdlib", **corpus_info(options["max_chars"])}
    else:
        texts = read_corpus(options["data"], splits=_available_splits(options["data"]))
        info = {"source": str(options["data"])}
    info["sha256"] = {s: hashlib.sha256(t.encode("utf-8")).hexdigest()[:16] for s, t in texts.items()}
    return texts, info


def _available_splits(path) -> tuple[str, ...]:
    found = corpus_files(path)
    return tuple(s for s in ("train", "valid", "test") if s in found or s in ("train", "valid"))


def encode(texts: dict[str, str], level: str, vocab: Vocabulary) -> dict[str, Tensor]:
    return {split: vocab.encode(text if level == "char" else tokenize(text, level)) for split, text in texts.items()}


def prepare(options: dict, vocabs: dict[str, Vocabulary] | None = None) -> Prepared:
    """Everything a training run needs. Pass the run's saved vocabulary ({"vocab": …}) when resuming."""
    level = level_of(options)
    texts, info = load_texts(options)
    vocab = (vocabs or {}).get("vocab")
    if vocab is None:
        train_tokens = texts["train"] if level == "char" else tokenize(texts["train"], level)
        vocab = Vocabulary.build(train_tokens, min_count=options["min_count"], max_size=options["max_vocab"])
    splits = encode(texts, level, vocab)
    seed_everything(options["seed"])  # the model's initial weights depend on it
    model = LanguageModel.build(len(vocab), cell=options["cell"], hidden_size=options["hidden"],
                          num_layers=options["layers"], embedding_size=options["embedding"],
                          dropout=options["dropout"], init_range=options["init_range"],
                          tie_weights=options["tie_weights"])
    task = LanguageModelTask(splits, level=level, batch_size=options["batch_size"], bptt=options["bptt"],
                             bptt_back=options["bptt_back"], eval_batch_size=options["eval_batch_size"],
                             loss_sum_over_time=options["loss_sum_over_time"])
    info.update(vocab_size=len(vocab), tokens={s: int(t.numel()) for s, t in splits.items()})
    return Prepared(model, task, {"vocab": vocab}, info)


def load(run: RunDir, weights: str = "best") -> tuple[LanguageModel, Vocabulary, dict]:
    """The trained model of a run directory (eval mode), its vocabulary and its config."""
    config = run.load_config()
    task = config["options"].get("task")
    if task not in TASKS:
        raise ConfigError(f"{run.path} is a {task!r} run, not a language model")
    vocab = Vocabulary.load(run.vocab_path)
    model = LanguageModel.from_config(config["model"])
    load_weights(model, run.weights(weights))
    model.eval()
    return model, vocab, config


def describe(prepared: Prepared, options: dict) -> str:
    info = prepared.data_info
    params = sum(p.numel() for p in prepared.model.parameters())
    source = "built-in corpus (Python standard library)" if info["source"] == "python-stdlib" else info["source"]
    tokens = ", ".join(f"{s} {n:,}" for s, n in info["tokens"].items())
    return (f"{options['task']} on {source}: {tokens} tokens, vocabulary {info['vocab_size']:,}\n"
            f"{options['layers']} x {options['hidden']} {options['cell']}, {params:,} parameters, "
            f"{prepared.task.num_batches():,} updates per epoch")


def format_metrics(metrics: dict) -> str:
    parts = [f"loss {metrics['loss']:.4f}"]
    if "bpc" in metrics:
        parts.append(f"{metrics['bpc']:.3f} bits/char")
    parts.append(f"perplexity {metrics['ppl']:.2f}")
    return ", ".join(parts)
