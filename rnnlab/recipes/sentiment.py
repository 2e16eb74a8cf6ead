"""The tree sentiment recipe (`--task sentiment`): a label for every phrase of a parse tree,
scored at the root — the Stanford Sentiment Treebank task.

Built-in data (the default): the generated treebank of rnnlab.datasets.trees, where negation and
intensifiers make the label depend on the bracketing. With `--data DIR`: train.txt, dev.txt and
test.txt of PTB-bracketed trees with a label on every node (the SST layout, `../shared/data/sst`).
`--labels fine` keeps the labels as written (5 classes for the SST); `--labels binary` maps 0–1 →
negative, 3–4 → positive, leaves neutral phrases out of the loss and drops neutral sentences,
as the SST's binary task does. Every labelled phrase is a training example; the best weights are
those with the best root accuracy on the validation split.

`rnnlab sentiment RUN TEXT...` (or `rnnlab predict RUN`) reads a bracketed tree as written (its
labels are shown as gold) or plain text as a balanced or right-branching binary tree over its
whitespace tokens (`--shape`): a fixed shape, not a parse.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar, Iterator, Sequence

from rnnlab.data.trees import SHAPES, Tree, format_tree, read_tree_dir, sst_binary
from rnnlab.datasets.trees import TREE_DATASETS, tree_data
from rnnlab.errors import ConfigError
from rnnlab.recipes.common import BatchOptions, ExampleOptions, VocabOptions, check_known, fingerprint, split_sizes
from rnnlab.recipes.ensemble import load_members
from rnnlab.recipes.recipe import Prepared, Recipe, Trained, parameters
from rnnlab.train.config import Options, TrainConfig, option
from rnnlab.train.trainer import seed_everything
from rnnlab.tree.ensemble import TreeEnsemble
from rnnlab.tree.model import TreeClassifier
from rnnlab.tree.predict import TreePredictor
from rnnlab.tree.registry import TREE_CELLS
from rnnlab.tree.task import TreeTask

LABEL_SCHEMES = ("fine", "binary")

PRESETS = {
    # the generated treebank: a small binary Tree-LSTM learns negation scope in a minute
    "sentiment": {"task": "sentiment", "cell": "tree-lstm", "hidden": 48, "embedding": 32, "batch_size": 25,
                  "eval_batch_size": 256, "epochs": 6, "lr": 1e-2, "log_every": 20},
    # the Sentiment Treebank from random word vectors (none pre-trained): binary Tree-LSTM 150 wide
    # (Tai et al. 2015's constituency model), dropout, Adam; the best epoch chosen on dev root accuracy
    "sst": {"task": "sentiment", "cell": "tree-lstm", "hidden": 150, "embedding": 150, "dropout": 0.5,
            "batch_size": 25, "eval_batch_size": 256, "epochs": 10, "lr": 2e-3, "weight_decay": 0.0,
            "clip_norm": 5.0, "log_every": 50},
}


@dataclass
class SentimentOptions(ExampleOptions, VocabOptions, BatchOptions, TrainConfig):
    """Options of `--task sentiment`."""
    GROUP: ClassVar[str] = "tree sentiment"
    data: str | None = option(None, "data directory holding train.txt, dev.txt, test.txt: one PTB-bracketed tree "
                              "per line, a label on every node (default: built-in data)")
    dataset: str | None = option(None, "built-in data when --data is not given: polarity (default)",
                                 choices=tuple(TREE_DATASETS))
    min_len: int | None = option(None, "built-in data: fewest words in a sentence (default 2)", min=1)
    max_len: int | None = option(None, "built-in data: most words in a sentence (default 10)", min=1)
    labels: str = option("fine", "fine: the labels as written (5 SST classes); binary: 0-1 negative, 3-4 "
                         "positive, neutral phrases unused and neutral sentences dropped", choices=LABEL_SCHEMES)
    cell: str = option("tree-lstm", "tree cell: " + ", ".join(TREE_CELLS), choices=tuple(TREE_CELLS))
    hidden: int = option(150, "units of the tree cell", min=1)
    embedding: int = option(150, "word embedding size (learned from scratch)", min=1)
    dropout: float = option(0.0, "dropout on the embeddings and on what the classifier reads", min=0, max=0.99)
    bidirectional: bool = option(False, "add a top-down LSTM pass: each node also reads its context")


@dataclass
class SentimentPredictOptions(Options):
    """Flags of `rnnlab sentiment` (and `rnnlab predict` on a sentiment run)."""
    GROUP: ClassVar[str] = "output"
    shape: str = option("balanced", "plain text becomes this binary tree over its words: balanced or right "
                        "(right-branching); bracketed input is read as written", choices=tuple(SHAPES))
    nodes: bool = option(False, "print the whole tree with every node's predicted label")
    json: bool = option(False, "one JSON object per input (root probabilities, predicted and gold labels)")


def apply_scheme(trees: list[Tree], scheme: str) -> list[Tree]:
    """Trees relabelled by `scheme`; under "binary", sentences whose root is neutral are dropped."""
    if scheme == "fine":
        return trees
    relabelled = [t.relabel(sst_binary) for t in trees]
    return [t for t in relabelled if t.label is not None]


class SentimentRecipe(Recipe):
    """A label for every node of a tree, scored at the root."""
    name = "sentiment"
    tasks = {"sentiment": "sentiment"}
    presets = PRESETS
    Options = SentimentOptions
    PredictOptions = SentimentPredictOptions
    vocabs = ("tokens", "labels")
    command, inputs, kind = "sentiment", "TEXT", "sentiment run"
    shared_commands = ("classify",)  # `rnnlab classify RUN "text"` too (the spelling): the run decides
    command_help = "label trees (bracketed, or plain text read as a balanced tree) with a trained tree classifier"
    use = 'classify with: rnnlab sentiment {run} "not a good film" (or a bracketed tree, one per argument or line of stdin)'

    def load_trees(self, options) -> tuple[dict[str, list[Tree]], dict]:
        if options.data is None:
            name = options.dataset or "polarity"
            splits = tree_data(name, *split_sizes(options.train_examples or 3000), seed=options.data_seed,
                               min_len=options.min_len, max_len=options.max_len)
            info = {"source": f"built-in:{name}"}
        else:
            splits = read_tree_dir(options.data)
            info = {"source": str(options.data)}
        splits = {s: apply_scheme(trees, options.labels) for s, trees in splits.items()}
        info["labels"] = options.labels
        info["sha256"] = {s: fingerprint([format_tree(t) for t in trees]) for s, trees in splits.items()}
        info["trees"] = {s: len(trees) for s, trees in splits.items()}
        return splits, info

    def prepare(self, options, vocabs=None) -> Prepared:
        splits, info = self.load_trees(options)
        vocabs = dict(vocabs or {})
        if "tokens" not in vocabs:
            vocabs["tokens"] = TreeTask.build_vocab(splits["train"], min_count=options.min_count)
        task = TreeTask(splits, vocabs["tokens"], vocabs.get("labels"), batch_size=options.batch_size,
                        eval_batch_size=options.eval_batch_size, seed=options.seed)
        vocabs["labels"] = task.label_vocab
        seed_everything(options.seed)
        model = TreeClassifier.build(len(vocabs["tokens"]), task.num_classes, cell=options.cell,
                                     hidden_size=options.hidden, embedding_size=options.embedding,
                                     dropout=options.dropout, bidirectional=options.bidirectional)
        info.update(vocab_size=len(vocabs["tokens"]), classes=task.num_classes,
                    nodes=sum(len(t) for t in splits["train"]))
        return Prepared(model, task, vocabs, info)

    def describe(self, prepared: Prepared, options) -> str:
        info = prepared.data_info
        sizes = ", ".join(f"{s} {n:,}" for s, n in info["trees"].items())
        kind = ("bidirectional " if options.bidirectional else "") + options.cell
        return (f"sentiment on {info['source']} ({options.labels} labels): {sizes} trees, {info['nodes']:,} training "
                f"nodes; vocabulary {info['vocab_size']:,}, {info['classes']} classes\n{options.hidden}-unit {kind}, "
                f"{parameters(prepared.model):,} parameters, {prepared.task.num_batches():,} updates per epoch")

    def format_metrics(self, metrics: dict) -> str:
        return (f"root accuracy {100 * metrics['accuracy']:.2f}%, phrase accuracy "
                f"{100 * metrics['phrase_accuracy']:.2f}%, loss {metrics['loss']:.4f}")

    def vocab_sizes(self, model_config) -> dict[str, int]:
        return {"tokens": model_config.get("vocab_size"), "labels": model_config.get("num_classes")}

    def rebuild(self, model_config, vocabs) -> TreeClassifier:
        return TreeClassifier.from_config(model_config)

    def predictor(self, model, vocabs, options) -> TreePredictor:
        return TreePredictor(model, vocabs["tokens"], vocabs["labels"], batch_size=options.eval_batch_size)

    def explorer(self, trained: Trained, request):
        """`rnnlab explore RUN`: the first validation trees (or a file of bracketed trees / sentences,
        one per line), each drawn as a tree whose nodes are coloured by a chosen unit or gate, with
        the predicted and gold label of every node."""
        from rnnlab.data.trees import text_tree
        from rnnlab.explore.record_tree import record_trees
        from rnnlab.explore.service import Explorer
        from rnnlab.recipes.explorers import read_text
        if request.dataset:
            raise ConfigError(f"a sentiment run explores trees: give --text FILE (one tree or sentence per line), not {request.flag}")
        if request.text:
            lines = [line for line in read_text(request.text).splitlines() if line.strip()][:request.examples]
            trees, source = [text_tree(line) for line in lines], request.text
        else:
            trees, source = self.load_trees(trained.options)[0]["valid"][:request.examples], "validation trees"
        model, vocab, labels = trained.model, trained.vocabs["tokens"], trained.vocabs["labels"]
        examples = [(f"{i + 1}: " + " ".join(t.leaves())[:60], t) for i, t in enumerate(trees)]
        config = trained.config["model"]
        about = {"run": str(trained.run.path), "model": f"{config['hidden_size']}-unit {config['cell']}", "source": source}
        return Explorer(model, vocab, "word", examples, hypotheses={}, about=about, kind="tagger",
                        recorder=lambda items: record_trees(model, vocab, labels, items))

    def predict(self, trained: Trained, inputs: list[str], options: SentimentPredictOptions) -> Iterator[str]:
        predictor = trained.predictor
        predictor.shape = options.shape
        trees = predictor.trees(inputs)
        check_known(self.command, [t.leaves() for t in trees], trained.vocabs["tokens"])
        for text, p in zip(inputs, predictor.predict_trees(trees)):
            labelled = _with_labels(p.tree, iter(p.node_labels))
            if options.json:
                yield json.dumps({"text": text, "label": p.label, "probabilities": p.probabilities,
                                  "gold": p.tree.label, "tree": format_tree(labelled),
                                  "shape": "given" if text.lstrip().startswith("(") else options.shape}) + "\n"
            elif options.nodes:
                yield f"{p.label}\t{p.probabilities[p.label]:.3f}\t{format_tree(labelled)}\n"
            else:
                yield f"{p.label}\t{p.probabilities[p.label]:.3f}\t{text}\n"


def _with_labels(tree: Tree, labels: Iterator[str]) -> Tree:
    """The tree with its nodes' labels replaced by `labels`, given in post-order."""
    if tree.is_leaf:
        return Tree(next(labels), word=tree.word)
    children = tuple(_with_labels(c, labels) for c in tree.children)
    return Tree(next(labels), children)


RECIPE = SentimentRecipe()


def load_ensemble(runs: Sequence[str | Path]) -> Trained:
    """Several sentiment runs of the same data and label scheme (e.g. one recipe, several seeds) as
    one `Trained` whose model is their `TreeEnsemble` (averaged posteriors); options, vocabularies
    and directory are the first run's. `RECIPE.evaluate(load_ensemble(runs), "test")` scores it."""
    trained = load_members(RECIPE, runs, data_keys=("sha256", "labels"))
    first = trained[0]
    model = TreeEnsemble([t.model for t in trained]).eval()
    return replace(first, model=model, predictor=RECIPE.predictor(model, first.vocabs, first.options))
