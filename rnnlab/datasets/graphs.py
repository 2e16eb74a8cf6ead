"""A graph task that needs propagation: which nodes can the marked source reach?

Each graph is a random directed graph of 8 … 16 nodes: a random path through all nodes split into
2 … 4 chains (so reachability runs many hops deep), plus a few random extra edges. One node is
annotated as the source ([1] vs [0]); a node's label is 1 when a directed path leads from the source
to it (the source itself included), else 0. A node d edges downstream of the source learns this
only after d propagation steps of a graph network, so accuracy rises with the number of steps
until the steps cover the longest shortest paths. Edges have one type. Deterministic from the seed.
"""
from __future__ import annotations

import random
from collections import deque

import torch

from rnnlab.errors import ConfigError

# (node annotations (n, 1), edges [(src, dst, type)], label per node): plain data, which
# rnnlab.graph.Graph(*example) wraps (datasets/ imports nothing above data/)
Example = tuple[torch.Tensor, list[tuple[int, int, int]], list[int]]

GRAPH_DATASETS = {"reachability": "which nodes a marked source reaches along directed edges"}


def reachable(n: int, edges: list[tuple[int, int, int]], source: int) -> tuple[list[int], list[int]]:
    """(label per node, hop distance per node or -1) by breadth-first search from `source`."""
    out = [[] for _ in range(n)]
    for s, d, _ in edges:
        out[s].append(d)
    dist = [-1] * n
    dist[source] = 0
    queue = deque([source])
    while queue:
        u = queue.popleft()
        for v in out[u]:
            if dist[v] < 0:
                dist[v] = dist[u] + 1
                queue.append(v)
    return [int(d >= 0) for d in dist], dist


def random_graph(rng: random.Random, min_nodes: int = 8, max_nodes: int = 16) -> tuple[Example, list[int]]:
    """(example, hop distance of every node from the source, -1 where unreachable)."""
    n = rng.randint(min_nodes, max_nodes)
    order = list(range(n))
    rng.shuffle(order)
    cuts = sorted(rng.sample(range(1, n), rng.randint(1, 3)))
    edges = []
    for a, b in zip([0] + cuts, cuts + [n]):
        chain = order[a:b]
        edges += [(u, v, 0) for u, v in zip(chain, chain[1:])]
    for _ in range(rng.randint(0, n // 4)):
        u, v = rng.sample(range(n), 2)
        edges.append((u, v, 0))
    source = order[0] if rng.random() < 0.5 else rng.randrange(n)  # often the head of a long chain
    labels, dist = reachable(n, edges, source)
    annotations = torch.zeros(n, 1)
    annotations[source, 0] = 1.0
    return (annotations, edges, labels), dist


def graph_data(name: str, n_train: int, n_valid: int, n_test: int, *, seed: int = 0) -> dict[str, list[Example]]:
    if name not in GRAPH_DATASETS:
        raise ConfigError(f"unknown graph dataset {name!r}; choose one of: {', '.join(GRAPH_DATASETS)}")
    out = {}
    for offset, (split, n) in enumerate((("train", n_train), ("valid", n_valid), ("test", n_test))):
        rng = random.Random(3 * seed + offset)
        out[split] = [random_graph(rng)[0] for _ in range(n)]
    return out
