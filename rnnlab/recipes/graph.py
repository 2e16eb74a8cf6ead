"""The graph recipe (`--task reachability`): a gated graph neural network labels every node of a
generated directed graph — can the marked source reach it? (rnnlab.datasets.graphs). `--steps`
is the number of propagation steps T; a node more than T edges from the source cannot be told.

`rnnlab reach RUN "0>1 1>2 3>2" --source 0` (or `rnnlab predict RUN`): an input is a graph written
as directed edges `u>v` between node numbers, separated by spaces; nodes are 0 … the largest
number named. The output is one line per graph: every node reached, by the model's call.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import ClassVar, Iterator

import torch

from rnnlab.datasets.graphs import GRAPH_DATASETS, graph_data
from rnnlab.errors import DataError
from rnnlab.graph.batch import Graph, GraphBatch
from rnnlab.graph.ggnn import NodeClassifier
from rnnlab.graph.task import NodeTask
from rnnlab.layers.described import Described, described
from rnnlab.recipes.common import BatchOptions, DataOptions, fingerprint, split_sizes
from rnnlab.recipes.recipe import Prepared, Recipe, Trained, parameters
from rnnlab.train.config import Options, TrainConfig, option
from rnnlab.train.inference import eval_mode
from rnnlab.train.trainer import seed_everything

PRESETS = {"reachability": {"task": "reachability", "hidden": 32, "steps": 8, "batch_size": 32, "epochs": 8,
                            "lr": 5e-3, "eval_batch_size": 256, "log_every": 20}}


class GraphNodeClassifier(Described, NodeClassifier):
    """`NodeClassifier` with `build`/`config`, so a run directory can rebuild it."""

    @classmethod
    def build(cls, annotation_size: int, hidden_size: int, num_edge_types: int, steps: int,
              num_classes: int) -> "GraphNodeClassifier":
        return described(cls(annotation_size, hidden_size, num_edge_types, steps, num_classes),
                         dict(annotation_size=annotation_size, hidden_size=hidden_size, num_edge_types=num_edge_types,
                              steps=steps, num_classes=num_classes))


@dataclass
class GraphOptions(DataOptions, BatchOptions, TrainConfig):
    """Options of `--task reachability`."""
    GROUP: ClassVar[str] = "graph"
    dataset: str | None = option(None, "built-in graphs: reachability (the default)", choices=tuple(GRAPH_DATASETS))
    train_examples: int | None = option(None, "training graphs (default 2000; valid and test a tenth, at least 200)",
                                        min=1)
    hidden: int = option(32, "units of each node's state", min=1)
    steps: int = option(8, "propagation steps T", min=0)

    def check(self) -> None:
        super().check()
        if self.data is not None:
            from rnnlab.errors import ConfigError
            raise ConfigError("the graph task uses generated graphs only; drop --data")


@dataclass
class ReachOptions(Options):
    GROUP: ClassVar[str] = "input"
    source: int = option(0, "the node the paths start from", min=0)
    json: bool = option(False, "one JSON object per graph (every node's probability of being reached)")


def parse_edges(text: str, source: int) -> Graph:
    """'0>1 1>2' → a Graph with node `source` marked; DataError naming a malformed edge."""
    edges = []
    for part in text.split():
        m = re.fullmatch(r"(\d+)>(\d+)", part)
        if not m:
            raise DataError(f"cannot read {part!r}: write each edge as u>v with node numbers, e.g. 0>1")
        edges.append((int(m.group(1)), int(m.group(2)), 0))
    if not edges:
        raise DataError("a graph needs at least one edge u>v")
    n = 1 + max(max(u, v) for u, v, _ in edges)
    if source >= n:
        raise DataError(f"--source {source} is not a node of this graph (nodes 0 … {n - 1})")
    annotations = torch.zeros(n, 1)
    annotations[source, 0] = 1.0
    return Graph(annotations, edges)


class GraphRecipe(Recipe):
    """A gated graph network labelling every node of generated graphs."""
    name = "graph"
    tasks = {"reachability": "reachability"}
    presets = PRESETS
    Options = GraphOptions
    PredictOptions = ReachOptions
    command, inputs, kind = "reach", "EDGES", "graph run"
    command_help = "which nodes of a graph (edges u>v) a trained gated graph network says the source reaches"
    use = 'try: rnnlab reach {run} "0>1 1>2 3>2" --source 0'

    def prepare(self, options, vocabs=None) -> Prepared:
        name = options.dataset or "reachability"
        raw = graph_data(name, *split_sizes(options.train_examples or 2000), seed=options.data_seed)
        splits = {s: [Graph(*g) for g in gs] for s, gs in raw.items()}
        info = {"source": f"built-in:{name}", "graphs": {s: len(g) for s, g in splits.items()},
                "sha256": {s: fingerprint([[g.edges, g.labels] for g in gs]) for s, gs in splits.items()}}
        seed_everything(options.seed)
        model = GraphNodeClassifier.build(1, options.hidden, 1, options.steps, 2)
        task = NodeTask(splits, 1, batch_size=options.batch_size, eval_batch_size=options.eval_batch_size,
                        seed=options.seed)
        return Prepared(model, task, {}, info)

    def describe(self, prepared: Prepared, options) -> str:
        sizes = ", ".join(f"{s} {n:,}" for s, n in prepared.data_info["graphs"].items())
        return (f"reachability on {prepared.data_info['source']}: {sizes} graphs\ngated graph network, "
                f"{options.hidden} units, {options.steps} propagation steps, {parameters(prepared.model):,} parameters")

    def format_metrics(self, metrics: dict) -> str:
        return (f"node accuracy {100 * metrics['accuracy']:.2f}%, graph accuracy {100 * metrics['graph_accuracy']:.2f}%, "
                f"loss {metrics['loss']:.4f}")

    def rebuild(self, model_config, vocabs) -> GraphNodeClassifier:
        return GraphNodeClassifier.from_config(model_config)

    @torch.no_grad()
    def predict(self, trained: Trained, inputs: list[str], options: ReachOptions) -> Iterator[str]:
        for text in inputs:
            graph = parse_edges(text, options.source)
            with eval_mode(trained.model):
                probs = torch.softmax(trained.model(GraphBatch.from_graphs([graph], 1)), -1)[:, 1]
            reached = [v for v, p in enumerate(probs.tolist()) if p > 0.5]
            if options.json:
                yield json.dumps({"edges": text, "source": options.source, "reached": reached,
                                  "probabilities": [round(p, 4) for p in probs.tolist()]}) + "\n"
            else:
                yield f"reached from {options.source}: {' '.join(map(str, reached)) or '(none)'}\t{text}\n"


RECIPE = GraphRecipe()
