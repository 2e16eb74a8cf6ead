"""The language-model recipe: options → data, vocabulary, model and task; run directory → model.

Character level (`lm-char`) reads text as characters; word level (`lm-word`) splits on
whitespace with an `<eos>` after every line, as in Mikolov's PTB setup. The synthetic memory
tasks (`counting`, `start-symbol`, ...) are character language models on generated strings:
predicting the next character of a^N X b^N requires counting the a's. The vocabulary is built
on the training split only; tokens it lacks map to `<unk>`. `rnnlab generate` samples from a
trained run, printing each token as it is drawn.
"""
from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from typing import ClassVar, Iterator

from torch import Tensor

from rnnlab.data import Vocabulary, corpus_files, corpus_info, read_corpus, stdlib_corpus, tokenize
from rnnlab.datasets.synthetic import SYNTHETIC_DATASETS, synthetic_corpus
from rnnlab.errors import ConfigError, DataError, DataNotFoundError
from rnnlab.lm import LanguageModel, LanguageModelTask, generate
from rnnlab.lm.task import evaluate_stream
from rnnlab.recipes.common import (ONLINE_METHODS, BatchOptions, CappedVocabOptions, DataOptions, LearningOptions,
                                   ModelOptions)
from rnnlab.recipes.presets import LANGUAGE_MODEL_PRESETS
from rnnlab.recipes.recipe import ExploreRequest, Prepared, Recipe, Trained, parameters
from rnnlab.train.config import Options, TrainConfig, option
from rnnlab.train.rtrl.online import OnlineLMTask
from rnnlab.train.trainer import seed_everything

LEVELS = {"lm-char": "char", "lm-word": "word", **{name: "char" for name in SYNTHETIC_DATASETS}}
EOS = "<eos>"


@dataclass
class LanguageModelOptions(DataOptions, CappedVocabOptions, ModelOptions, BatchOptions, LearningOptions, TrainConfig):
    """Options of the language-model tasks (lm-char, lm-word and the synthetic memory tasks)."""
    GROUP: ClassVar[str] = "language model"
    data: str | None = option(None, "data directory: train.txt/valid.txt/test.txt or ptb.{train,valid,test}.txt "
                              "(default: the built-in corpus, or a memory task's generated strings)")
    max_chars: int | None = option(1_000_000, "built-in corpus: characters of training text (valid/test get a tenth)",
                                   min=1)
    init_range: float | None = option(None, "initialise every weight from U(-r, r) (default: each module's own)",
                                      above=0)
    tie_weights: bool = option(False, "share embedding and softmax weights (needs embedding = hidden)")
    bptt: int = option(100, "truncated BPTT: steps per update (k1)", min=1)
    bptt_back: int | None = option(None, "truncated BPTT: steps the gradient flows back (k2 >= k1; default k1)", min=1)
    loss_sum_over_time: bool = option(False, "back-propagate the loss summed over the bptt steps, not averaged "
                                      "(Zaremba et al.'s convention: their lr 1 is k1 times a mean-loss lr)")

    def check(self) -> None:
        super().check()
        if self.task in SYNTHETIC_DATASETS and self.data is not None:
            raise ConfigError(f"task {self.task!r} generates its own data; drop --data")
        k1 = self.update_every if self.learning == "tbptt" and self.update_every else self.bptt
        if self.bptt_back is not None and self.bptt_back < k1:
            raise ConfigError(f"bptt_back must be >= bptt ({k1}), got {self.bptt_back}")


@dataclass
class GenerateOptions(Options):
    """Flags of `rnnlab generate` (and `rnnlab predict` on a language-model run)."""
    GROUP: ClassVar[str] = "sampling"
    prime: str | None = option(None, "text to start from (default: a new line)")
    length: int = option(500, "tokens to generate", min=0)
    temperature: float = option(0.8, "softmax temperature; 0 = greedy", min=0)
    top_k: int | None = option(None, "sample only among the k most likely tokens", min=1)
    seed: int | None = option(None, "random seed (default: different every time)")


def load_texts(options) -> tuple[dict[str, str], dict]:
    """The raw text of each split, and a description of where it came from (with fingerprints)."""
    if options.task in SYNTHETIC_DATASETS:  # a memory task's strings, one per line, made in code
        texts = synthetic_corpus(options.task, max_chars=options.max_chars or 200_000, seed=options.data_seed)
        info = {"source": f"synthetic:{options.task}"}
    elif options.data is None:
        texts = stdlib_corpus(options.max_chars)
        info = {"source": "python-stdlib", **corpus_info(options.max_chars)}
    else:
        found = corpus_files(options.data)
        texts = read_corpus(options.data, splits=tuple(s for s in ("train", "valid", "test")
                                                         if s in found or s in ("train", "valid")))
        info = {"source": str(options.data)}
    info["sha256"] = {s: hashlib.sha256(t.encode("utf-8")).hexdigest()[:16] for s, t in texts.items()}
    return texts, info


def encode(text: str, level: str, vocab: Vocabulary) -> Tensor:
    return vocab.encode(text if level == "char" else tokenize(text, level))


class LanguageModelRecipe(Recipe):
    """Character and word language models, and the synthetic memory tasks read as character LMs."""
    name = "language-model"
    tasks = {"lm-char": "char", "lm-word": "word", **{name: "memory" for name in SYNTHETIC_DATASETS}}
    presets = LANGUAGE_MODEL_PRESETS
    Options = LanguageModelOptions
    PredictOptions = GenerateOptions
    vocabs = ("vocab",)
    command, inputs, kind = "generate", None, "language model"
    command_help = "sample text from a trained language model"
    use = "sample with: rnnlab generate {run}"

    def prepare(self, options, vocabs=None) -> Prepared:
        """Everything a training run needs. Pass the run's saved vocabulary ({"vocab": …}) when resuming."""
        level = LEVELS[options.task]
        texts, info = load_texts(options)
        vocab = (vocabs or {}).get("vocab")
        if vocab is None:
            train_tokens = texts["train"] if level == "char" else tokenize(texts["train"], level)
            vocab = Vocabulary.build(train_tokens, min_count=options.min_count, max_size=options.max_vocab)
        splits = {split: encode(text, level, vocab) for split, text in texts.items()}
        seed_everything(options.seed)  # the model's initial weights depend on it
        model = LanguageModel.build(len(vocab), cell=options.cell, hidden_size=options.hidden,
                                    num_layers=options.layers, embedding_size=options.embedding,
                                    dropout=options.dropout, init_range=options.init_range,
                                    tie_weights=options.tie_weights)
        if options.learning in ONLINE_METHODS:
            task = OnlineLMTask(splits, level=level, batch_size=options.batch_size, method=options.learning,
                                update_every=options.update_every or 1, eval_batch_size=options.eval_batch_size,
                                carry_across_epochs=options.online_reset == "never")
            task.check_size(model)
        else:  # tbptt --update-every k: windows of k steps
            bptt = options.update_every if options.learning == "tbptt" and options.update_every else options.bptt
            task = LanguageModelTask(splits, level=level, batch_size=options.batch_size, bptt=bptt,
                                     bptt_back=options.bptt_back, eval_batch_size=options.eval_batch_size,
                                     loss_sum_over_time=options.loss_sum_over_time)
        info.update(vocab_size=len(vocab), tokens={s: int(t.numel()) for s, t in splits.items()})
        return Prepared(model, task, {"vocab": vocab}, info)

    def describe(self, prepared: Prepared, options) -> str:
        info = prepared.data_info
        source = "built-in corpus (Python standard library)" if info["source"] == "python-stdlib" else info["source"]
        tokens = ", ".join(f"{s} {n:,}" for s, n in info["tokens"].items())
        return (f"{options.task} on {source}: {tokens} tokens, vocabulary {info['vocab_size']:,}\n"
                f"{options.layers} x {options.hidden} {options.cell}, {parameters(prepared.model):,} parameters, "
                f"{prepared.task.num_batches():,} updates per epoch")

    def format_metrics(self, metrics: dict) -> str:
        parts = [f"loss {metrics['loss']:.4f}"]
        if "bpc" in metrics:
            parts.append(f"{metrics['bpc']:.3f} bits/char")
        parts.append(f"perplexity {metrics['ppl']:.2f}")
        return ", ".join(parts)

    def vocab_sizes(self, model_config) -> dict[str, int]:
        return {"vocab": model_config.get("vocab_size")}

    def rebuild(self, model_config, vocabs) -> LanguageModel:
        return LanguageModel.from_config(model_config)

    def evaluate(self, trained: Trained, split: str, data=None, batch_size=None) -> dict[str, float]:
        """Loss, perplexity (and bits per character) of the split read as one stream per batch column."""
        options = trained.options
        if data is not None:
            texts = read_corpus(data, splits=(split,))
        else:
            texts = load_texts(options)[0]
            if split not in texts:
                raise DataNotFoundError(f"the run's data has no {split!r} split")
        level = LEVELS[options.task]
        ids = encode(texts[split], level, trained.vocabs["vocab"])
        return evaluate_stream(trained.model, ids, batch_size or options.eval_batch_size, level)

    def format_evaluation(self, split: str, metrics: dict) -> str:
        extra = f"  bits/char {metrics['bpc']:.4f}" if "bpc" in metrics else ""
        return (f"{split}: loss {metrics['loss']:.4f}  perplexity {metrics['ppl']:.2f}{extra}  "
                f"({metrics['tokens']:,} tokens)")

    def predict(self, trained: Trained, inputs: list[str], options: GenerateOptions) -> Iterator[str]:
        """A sample after each prime (the inputs, else --prime), printed token by token."""
        for prime in inputs or [options.prime]:
            yield from self._sample(trained, prime, options)

    def _sample(self, trained: Trained, prime: str | None, options: GenerateOptions) -> Iterator[str]:
        vocab, level = trained.vocabs["vocab"], LEVELS[trained.options.task]
        if level == "char":
            tokens = list(prime) if prime else ["\n"]
        else:  # no <eos> after the prime: it continues
            tokens = (tokenize(prime, "word")[:-1] if prime else []) or [EOS]
        unknown = sorted({t for t in tokens if t not in vocab})
        if unknown:
            if vocab.unk is None:
                raise DataError(f"the prime contains tokens the model does not know: {unknown[:5]}")
            print(f"rnnlab generate: note: {unknown[:5]} not in the vocabulary, read as {vocab.unk}", file=sys.stderr)
        if prime:
            yield prime if level == "char" else prime + " "
        for i in generate(trained.model, vocab.encode(tokens), options.length, temperature=options.temperature,
                          top_k=options.top_k, seed=options.seed):
            token = vocab[i]
            yield token if level == "char" else ("\n" if token == EOS else token + " ")
        yield "\n"

    def explorer(self, trained: Trained, request: ExploreRequest):
        from rnnlab.recipes.explorers import language_model_explorer
        return language_model_explorer(trained, request, LEVELS[trained.options.task])


RECIPE = LanguageModelRecipe()
