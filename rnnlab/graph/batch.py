"""Many graphs as one: nodes numbered together, edges as index tensors, so one message-passing
step over the whole batch is a gather, a matmul and a scatter-add.

A `Graph` has `num_nodes`, node annotations (num_nodes, D) (what each node starts knowing, e.g.
"this is the source"), typed directed edges (src, dst, type) and optional per-node labels.
`GraphBatch.from_graphs` offsets every graph's node ids so graphs never exchange messages.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor

from rnnlab.errors import DataError

IGNORE = -100


@dataclass
class Graph:
    annotations: Tensor                 # (n, D) float
    edges: list[tuple[int, int, int]]   # (src, dst, edge type)
    labels: list[int] | None = None     # per node, IGNORE where none

    @property
    def num_nodes(self) -> int:
        return self.annotations.shape[0]


@dataclass
class GraphBatch:
    annotations: Tensor  # (N, D)
    src: Tensor          # (E,)
    dst: Tensor          # (E,)
    etype: Tensor        # (E,)
    labels: Tensor       # (N,) IGNORE where none
    graph_of: Tensor     # (N,) which graph each node belongs to
    num_graphs: int

    @property
    def num_nodes(self) -> int:
        return self.annotations.shape[0]

    @classmethod
    def from_graphs(cls, graphs: Sequence[Graph], num_edge_types: int) -> "GraphBatch":
        if not graphs:
            raise DataError("a graph batch needs at least one graph")
        src, dst, etype, labels, graph_of, offset = [], [], [], [], [], 0
        width = graphs[0].annotations.shape[1]
        for g, graph in enumerate(graphs):
            n = graph.num_nodes
            if graph.annotations.dim() != 2 or graph.annotations.shape[1] != width:
                raise DataError(f"graph {g}: annotations must be (nodes, {width}), got {tuple(graph.annotations.shape)}")
            for s, d, t in graph.edges:
                if not (0 <= s < n and 0 <= d < n):
                    raise DataError(f"graph {g}: edge ({s}, {d}) names a node outside 0..{n - 1}")
                if not 0 <= t < num_edge_types:
                    raise DataError(f"graph {g}: edge type {t} outside 0..{num_edge_types - 1}")
                src.append(s + offset)
                dst.append(d + offset)
                etype.append(t)
            if graph.labels is not None and len(graph.labels) != n:
                raise DataError(f"graph {g}: {len(graph.labels)} labels for {n} nodes")
            labels += graph.labels if graph.labels is not None else [IGNORE] * n
            graph_of += [g] * n
            offset += n
        return cls(torch.cat([g.annotations for g in graphs]), torch.tensor(src, dtype=torch.long),
                   torch.tensor(dst, dtype=torch.long), torch.tensor(etype, dtype=torch.long),
                   torch.tensor(labels, dtype=torch.long), torch.tensor(graph_of), len(graphs))

    def to(self, device) -> "GraphBatch":
        return GraphBatch(self.annotations.to(device), self.src.to(device), self.dst.to(device),
                          self.etype.to(device), self.labels.to(device), self.graph_of.to(device), self.num_graphs)
