"""The gated graph neural network (Li, Tarlow, Brockschmidt & Zemel 2016): node states updated by a
GRU from messages along typed edges, for T propagation steps.

    h_v^(1) = [x_v; 0]                                       (eq. 1: annotation, zero-padded to H)
    a_v^(t) = Σ_{(u → v, k)} (W_k h_u^(t−1) + b_k)           (eq. 2: one weight per edge type and
                                                               direction — every edge also carries a
                                                               message backwards, with its own type)
    h_v^(t) = GRU(a_v^(t), h_v^(t−1))                        (eqs. 3–6: rnnlab's GRU cell)

Every step is one matmul of all node states by all edge types' weights, a gather of each edge's
message and a scatter-add into its destination: the whole batch of graphs at once. The GRU is
rnnlab's `GRUCell` (the cell contract), with the nodes as its batch and the steps as its time.
A node T edges or more away from every informative node cannot learn anything from it: what the
propagation-steps experiment shows.

`GraphReadout` is the graph-level output of eq. 7: h_G = tanh(Σ_v σ(i(h_v, x_v)) ⊙ tanh(j(h_v, x_v))).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnlab.cells.gru import GRUCell
from rnnlab.errors import ConfigError, DataError
from rnnlab.graph.batch import GraphBatch


class GatedGraphNetwork(nn.Module):
    def __init__(self, annotation_size: int, hidden_size: int, num_edge_types: int, steps: int, *,
                 backward_edges: bool = True):
        super().__init__()
        if annotation_size > hidden_size:
            raise ConfigError(f"the annotation ({annotation_size}) must fit in the state ({hidden_size}): h(1) = [x; 0]")
        if num_edge_types < 1 or steps < 0:
            raise ConfigError(f"need num_edge_types >= 1 and steps >= 0, got {num_edge_types} and {steps}")
        self.annotation_size, self.hidden_size, self.steps = annotation_size, hidden_size, steps
        self.num_edge_types, self.backward_edges = num_edge_types, backward_edges
        self.kinds = num_edge_types * (2 if backward_edges else 1)
        self.message = nn.Linear(hidden_size, self.kinds * hidden_size)  # W_k, b_k for every kind, stacked
        self.cell = GRUCell(hidden_size, hidden_size)

    def messages(self, batch: GraphBatch, h: Tensor) -> Tensor:
        """a_v (eq. 2) for every node: Σ over incoming edges (and reversed outgoing ones) of W_k h_u + b_k."""
        src, dst, kind = batch.src, batch.dst, batch.etype
        if self.backward_edges:  # v → u with type k + K: information flows against the edge too
            src, dst, kind = torch.cat([src, batch.dst]), torch.cat([dst, batch.src]), \
                torch.cat([kind, kind + self.num_edge_types])
        all_kinds = self.message(h).view(h.shape[0], self.kinds, self.hidden_size)  # W_k h_u + b_k, every k
        sent = all_kinds[src, kind]  # (E, H): each edge's message
        return h.new_zeros(h.shape).index_add(0, dst, sent)

    def forward(self, batch: GraphBatch, *, steps: int | None = None) -> Tensor:
        """Node states after `steps` (default: the model's T) propagation steps, (N, H)."""
        x = batch.annotations
        if x.shape[1] != self.annotation_size:
            raise DataError(f"GGNN: annotations are {x.shape[1]} wide, the model reads {self.annotation_size}")
        h = torch.cat([x, x.new_zeros(x.shape[0], self.hidden_size - self.annotation_size)], 1)  # eq. 1
        for _ in range(self.steps if steps is None else steps):
            h, _ = self.cell(self.messages(batch, h), h)  # eqs. 3–6
        return h


class GraphReadout(nn.Module):
    """h_G = tanh(Σ_{v in G} σ(i([h_v; x_v])) ⊙ tanh(j([h_v; x_v])))  (Li et al. 2016, eq. 7)."""

    def __init__(self, hidden_size: int, annotation_size: int, out_size: int):
        super().__init__()
        self.i = nn.Linear(hidden_size + annotation_size, out_size)
        self.j = nn.Linear(hidden_size + annotation_size, out_size)

    def forward(self, batch: GraphBatch, h: Tensor) -> Tensor:
        hx = torch.cat([h, batch.annotations], 1)
        gated = torch.sigmoid(self.i(hx)) * torch.tanh(self.j(hx))
        return torch.tanh(gated.new_zeros(batch.num_graphs, gated.shape[1]).index_add(0, batch.graph_of, gated))


class NodeClassifier(nn.Module):
    """GGNN + a linear map of [h_v; x_v] per node (Li et al.'s node-selection output, one class per node)."""

    def __init__(self, annotation_size: int, hidden_size: int, num_edge_types: int, steps: int, num_classes: int):
        super().__init__()
        self.ggnn = GatedGraphNetwork(annotation_size, hidden_size, num_edge_types, steps)
        self.out = nn.Linear(hidden_size + annotation_size, num_classes)

    def forward(self, batch: GraphBatch) -> Tensor:
        return self.out(torch.cat([self.ggnn(batch), batch.annotations], 1))
