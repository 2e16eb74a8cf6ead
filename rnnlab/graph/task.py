"""Per-node classification of graphs as a trainer task: batches of graphs in an order drawn from
(seed, epoch) alone; the loss is the mean cross-entropy over labelled nodes; evaluation gives node
accuracy and graph accuracy (every node of the graph right)."""
from __future__ import annotations

import torch
from torch.nn import functional as F

from rnnlab.errors import ConfigError, DataError
from rnnlab.graph.batch import IGNORE, Graph, GraphBatch
from rnnlab.train.inference import eval_mode, model_device
from rnnlab.train.shuffle import EpochShuffle
from rnnlab.train.trainer import StepOutput


class NodeTask:
    metric = "error"

    def __init__(self, splits: dict[str, list[Graph]], num_edge_types: int, *, batch_size: int = 32,
                 eval_batch_size: int = 256, seed: int = 0):
        if not splits.get("train"):
            raise DataError("graph task: no training graphs")
        if batch_size < 1 or eval_batch_size < 1:
            raise ConfigError(f"batch sizes must be >= 1, got {batch_size} and {eval_batch_size}")
        self.splits, self.num_edge_types = splits, num_edge_types
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.shuffle = EpochShuffle(len(splits["train"]), seed)

    def num_batches(self) -> int:
        return -(-len(self.splits["train"]) // self.batch_size)

    def train_step(self, model, epoch: int, index: int, carry) -> StepOutput:
        rows = self.shuffle.batch(epoch, index, self.batch_size).tolist()
        batch = GraphBatch.from_graphs([self.splits["train"][i] for i in rows], self.num_edge_types)
        batch = batch.to(model_device(model))
        logits = model(batch)
        return StepOutput(F.cross_entropy(logits, batch.labels, ignore_index=IGNORE),
                          int((batch.labels != IGNORE).sum()))

    @torch.no_grad()
    def evaluate(self, model, split: str) -> dict[str, float]:
        graphs = self.splits.get(split)
        if not graphs:
            raise DataError(f"no graphs in split {split!r}")
        nll, nodes, right, whole = 0.0, 0, 0, 0
        with eval_mode(model):
            for start in range(0, len(graphs), self.eval_batch_size):
                batch = GraphBatch.from_graphs(graphs[start:start + self.eval_batch_size], self.num_edge_types)
                batch = batch.to(model_device(model))
                logits = model(batch)
                known = batch.labels != IGNORE
                nll += float(F.cross_entropy(logits, batch.labels, ignore_index=IGNORE, reduction="sum"))
                ok = (logits.argmax(-1) == batch.labels) | ~known
                nodes += int(known.sum())
                right += int((ok & known).sum())
                wrong_per_graph = torch.zeros(batch.num_graphs, dtype=torch.long, device=ok.device)
                wrong_per_graph.index_add_(0, batch.graph_of, (~ok).long())
                whole += int((wrong_per_graph == 0).sum())
        accuracy = right / max(nodes, 1)
        return {"loss": nll / max(nodes, 1), "accuracy": accuracy, "error": 1 - accuracy,
                "graph_accuracy": whole / len(graphs)}
