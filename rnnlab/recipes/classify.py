"""The sequence-classification recipe: options → labelled sequences, vocabularies,
`SequenceClassifier` and `ClassificationTask`.

Built-in data (`--dataset`): balanced brackets (the default), parity of a bit string, or the embedded Reber
grammar — character level, generated in code, both classes equally often and with the same
length distribution. With `--data DIR`: `label<TAB>text` lines in {train,valid,test}.tsv/.txt,
tokenised by words (default) or characters (`--level`); unseen tokens map to <unk>.
`--pool last|mean` reads the class from the last state or the mean of all states.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar, Iterator

from rnnlab.classify.model import POOLS, SequenceClassifier
from rnnlab.classify.predict import LabelPredictor
from rnnlab.classify.task import ClassificationTask
from rnnlab.data.labelled import read_labelled_dir
from rnnlab.datasets.grammar import CLASSIFICATION_DATASETS, classification_data
from rnnlab.recipes.common import LEVELS, BatchOptions, CappedVocabOptions, EncoderOptions, TextOptions
from rnnlab.recipes.presets import CLASSIFY_PRESETS
from rnnlab.recipes.recipe import Prepared, parameters
from rnnlab.recipes.text import TextRecipe
from rnnlab.train.config import Options, TrainConfig, option
from rnnlab.train.trainer import seed_everything


@dataclass
class ClassifyOptions(TextOptions, CappedVocabOptions, EncoderOptions, BatchOptions, TrainConfig):
    """Options of `--task classify`: the shared task, text, vocabulary, encoder, batch and training options plus the pooling."""
    GROUP: ClassVar[str] = "classification"
    data: str | None = option(None, "data directory: 'label<TAB>text' lines in {train,valid,test}.tsv or .txt "
                              "(default: built-in data, see --dataset)")
    dataset: str | None = option(None, "built-in data when --data is not given: balanced (default), parity or reber",
                                 choices=CLASSIFICATION_DATASETS)
    level: str | None = option(None, "files: 'char' or 'word' tokens (default word)", choices=LEVELS)
    pool: str = option("last", "read the class from the last state or the mean of all states", choices=POOLS)


@dataclass
class ClassifyPrintOptions(Options):
    """Flags of `rnnlab classify` (and `rnnlab predict` on a classifier run)."""
    GROUP: ClassVar[str] = "output"
    all: bool = option(False, "print every label's probability")
    json: bool = option(False, "one JSON object per text")


class ClassifyRecipe(TextRecipe):
    """A label for a whole sequence."""
    name = "classify"
    tasks = {"classify": "classify"}
    presets = CLASSIFY_PRESETS
    Options = ClassifyOptions
    PredictOptions = ClassifyPrintOptions
    vocabs = ("tokens", "labels")
    command, inputs, kind = "classify", "TEXT", "classify run"
    command_help = "classify texts with a trained sequence classifier"
    use = 'classify with: rnnlab classify {run} "(()())" (or any text, one per argument or line of stdin)'
    default_dataset, default_train_examples, file_level, counted = "balanced", 4000, "word", "examples"
    make_data, read_dir = staticmethod(classification_data), staticmethod(read_labelled_dir)
    source_vocab = "tokens"

    def as_json(self, example):
        return [example.label, list(example.tokens)]

    def prepare(self, options, vocabs=None) -> Prepared:
        splits, info = self.load_examples(options)
        vocabs = dict(vocabs or {})
        if "tokens" not in vocabs:
            vocabs["tokens"] = ClassificationTask.build_vocab(splits["train"], min_count=options.min_count,
                                                              max_size=options.max_vocab)
        task = ClassificationTask(splits, vocabs["tokens"], vocabs.get("labels"), batch_size=options.batch_size,
                                  eval_batch_size=options.eval_batch_size, seed=options.seed)
        vocabs["labels"] = task.label_vocab
        seed_everything(options.seed)
        model = SequenceClassifier.build(len(vocabs["tokens"]), task.num_classes, cell=options.cell,
                                         hidden_size=options.hidden, num_layers=options.layers,
                                         bidirectional=options.bidirectional,
                                         embedding_size=options.hidden if options.embedding is None else options.embedding,
                                         dropout=options.dropout, pool=options.pool)
        info.update(vocab_size=len(vocabs["tokens"]), classes=task.num_classes)
        return Prepared(model, task, vocabs, info)

    def describe(self, prepared: Prepared, options) -> str:
        info = prepared.data_info
        sizes = ", ".join(f"{s} {n:,}" for s, n in info["examples"].items())
        kind = ("bidirectional " if options.bidirectional else "") + options.cell
        return (f"classify on {info['source']}: {sizes} examples; vocabulary {info['vocab_size']:,}, "
                f"{info['classes']} classes\n{options.layers} x {options.hidden} {kind}, reading the "
                f"{options.pool} state, {parameters(prepared.model):,} parameters, "
                f"{prepared.task.num_batches():,} updates per epoch")

    def format_metrics(self, metrics: dict) -> str:
        return f"accuracy {100 * metrics['accuracy']:.2f}%, loss {metrics['loss']:.4f}"

    def vocab_sizes(self, model_config) -> dict[str, int]:
        return {"tokens": model_config.get("vocab_size"), "labels": model_config.get("num_classes")}

    def rebuild(self, model_config, vocabs) -> SequenceClassifier:
        return SequenceClassifier.from_config(model_config)

    def predictor(self, model, vocabs, options) -> LabelPredictor:
        return LabelPredictor(model, vocabs["tokens"], vocabs["labels"], batch_size=options.eval_batch_size)

    def outputs(self, trained, texts, sequences, options: ClassifyPrintOptions) -> Iterator[str]:
        """The label and its probability (or every label's, or JSON) and the text, per text."""
        for text, (label, probs) in zip(texts, trained.predictor.predict_many(sequences)):
            if options.json:
                yield json.dumps({"text": text, "label": label, "probabilities": probs}) + "\n"
            elif options.all:
                ranked = sorted(probs.items(), key=lambda kv: -kv[1])
                yield f"{label}\t" + "  ".join(f"{k} {v:.3f}" for k, v in ranked) + f"\t{text}\n"
            else:
                yield f"{label}\t{probs[label]:.3f}\t{text}\n"


RECIPE = ClassifyRecipe()
