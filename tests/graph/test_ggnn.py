"""The gated graph network: float64 gradcheck through propagation; batched message passing equals
each graph run alone and a naive per-edge loop; graphs in a batch never exchange messages; after
T steps a node knows nothing of nodes more than T edges away; the generated reachability task's
labels are right; a GGNN learns it."""
import random

import pytest
import torch

from rnnlab.datasets.graphs import graph_data, random_graph, reachable
from rnnlab.errors import ConfigError, DataError
from rnnlab.graph import GatedGraphNetwork, Graph, GraphBatch, GraphReadout, NodeTask
from rnnlab.graph.ggnn import NodeClassifier


def _graphs():
    rng = random.Random(0)
    return [Graph(*random_graph(rng, 4, 6)[0]) for _ in range(3)]


def test_gradcheck_float64():
    torch.manual_seed(0)
    net = GatedGraphNetwork(1, 3, 1, steps=2).double()
    graphs = _graphs()
    batch = GraphBatch.from_graphs(graphs, 1)
    x = batch.annotations.double().requires_grad_(True)
    read = GraphReadout(3, 1, 2).double()

    def f(x):
        b = GraphBatch(x, batch.src, batch.dst, batch.etype, batch.labels, batch.graph_of, batch.num_graphs)
        h = net(b)
        return h, read(b, h)
    assert torch.autograd.gradcheck(f, (x,), eps=1e-6, atol=1e-6)
    params = dict(net.named_parameters())
    values = tuple(p.detach().clone().requires_grad_(True) for p in params.values())
    b = GraphBatch(batch.annotations.double(), batch.src, batch.dst, batch.etype, batch.labels, batch.graph_of,
                   batch.num_graphs)
    assert torch.autograd.gradcheck(lambda *v: torch.func.functional_call(net, dict(zip(params, v)), (b,)), values,
                                    eps=1e-6, atol=1e-6)


def test_messages_equal_a_naive_loop():
    torch.manual_seed(0)
    net = GatedGraphNetwork(1, 4, 2, steps=1).double()
    g = Graph(torch.zeros(3, 1), [(0, 1, 0), (1, 2, 1), (2, 1, 0)], [0, 1, 0])
    batch = GraphBatch.from_graphs([g], 2)
    h = torch.randn(3, 4, dtype=torch.float64)
    W = net.message.weight.view(4, 4, 4)  # kinds (fwd 0, fwd 1, back 0, back 1) × H × H
    b = net.message.bias.view(4, 4)
    expected = torch.zeros(3, 4, dtype=torch.float64)
    for s, d, t in g.edges:
        expected[d] += W[t] @ h[s] + b[t]
        expected[s] += W[t + 2] @ h[d] + b[t + 2]
    torch.testing.assert_close(net.messages(batch, h), expected)


def test_batched_equals_alone_and_no_cross_talk():
    torch.manual_seed(0)
    net = GatedGraphNetwork(1, 5, 1, steps=3).double()
    graphs = _graphs()
    for g in graphs:
        g.annotations = g.annotations.double()
    together = net(GraphBatch.from_graphs(graphs, 1))
    alone = torch.cat([net(GraphBatch.from_graphs([g], 1)) for g in graphs])
    torch.testing.assert_close(together, alone)


def test_information_travels_one_edge_per_step():
    """On a chain 0 → 1 → 2 → 3 (messages both ways), marking node 0 changes node d's state only after d steps."""
    torch.manual_seed(0)
    chain = [(0, 1, 0), (1, 2, 0), (2, 3, 0)]
    marked = Graph(torch.tensor([[1.0], [0.0], [0.0], [0.0]]), chain)
    blank = Graph(torch.zeros(4, 1), chain)
    for steps in range(4):
        net = GatedGraphNetwork(1, 4, 1, steps=steps)
        torch.manual_seed(1)
        changed = (net(GraphBatch.from_graphs([marked], 1)) - net(GraphBatch.from_graphs([blank], 1))).abs().sum(1) > 0
        assert changed.tolist() == [d <= steps for d in range(4)]


def test_errors():
    with pytest.raises(ConfigError):
        GatedGraphNetwork(5, 4, 1, 2)
    with pytest.raises(DataError, match="outside"):
        GraphBatch.from_graphs([Graph(torch.zeros(2, 1), [(0, 2, 0)])], 1)
    with pytest.raises(DataError, match="edge type"):
        GraphBatch.from_graphs([Graph(torch.zeros(2, 1), [(0, 1, 3)])], 1)


def test_reachability_labels():
    labels, dist = reachable(4, [(0, 1, 0), (1, 2, 0), (3, 0, 0)], 0)
    assert labels == [1, 1, 1, 0] and dist == [0, 1, 2, -1]
    data = graph_data("reachability", 20, 5, 5, seed=0)
    for annotations, edges, labels in data["train"]:
        source = int(annotations[:, 0].argmax())
        assert reachable(len(labels), edges, source)[0] == labels
    with pytest.raises(ConfigError):
        graph_data("nope", 1, 1, 1)


def test_ggnn_learns_reachability():
    from rnnlab.train import TrainConfig
    from rnnlab.train.trainer import Trainer, seed_everything
    data = {k: [Graph(*g) for g in v] for k, v in graph_data("reachability", 200, 100, 100, seed=0).items()}
    seed_everything(0)
    model = NodeClassifier(1, 16, 1, steps=8, num_classes=2)
    task = NodeTask(data, 1, batch_size=20)
    before = task.evaluate(model, "valid")["accuracy"]
    Trainer(model, task, TrainConfig(epochs=6, lr=1e-2, log_every=100), progress=False).fit()
    after = task.evaluate(model, "valid")["accuracy"]
    assert after > max(before, 0.8)
