"""Gated graph network on generated reachability (rnnlab.datasets.graphs): test accuracy against
the number of propagation steps T. A node d edges from the source needs T >= d to be answered
from information rather than guessed, so accuracy should climb with T and level off once T
covers the graphs' longest paths.

    python examples/ggnn_steps.py                       # T = 0 1 2 3 4 6 8 12, 2,000 training graphs
    python examples/ggnn_steps.py --steps 0 2 8 --train 500 --epochs 3

Prints a markdown table (node accuracy, whole-graph accuracy, accuracy on nodes 5+ hops away,
seconds) and writes it to --out.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rnnlab.datasets.graphs import graph_data, reachable  # noqa: E402
from rnnlab.graph import Graph, GraphBatch, NodeTask  # noqa: E402
from rnnlab.graph.ggnn import NodeClassifier  # noqa: E402
from rnnlab.train import TrainConfig  # noqa: E402
from rnnlab.train.trainer import Trainer, seed_everything  # noqa: E402


def far_accuracy(model, graphs: list[Graph], min_hops: int = 5) -> float:
    """Accuracy on the reachable nodes at least `min_hops` edges from the source (the hard ones)."""
    right = total = 0
    with torch.no_grad():
        model.eval()
        logits = model(GraphBatch.from_graphs(graphs, 1)).argmax(-1)
        at = 0
        for g in graphs:
            source = int(g.annotations[:, 0].argmax())
            _, dist = reachable(g.num_nodes, g.edges, source)
            for v, d in enumerate(dist):
                if d >= min_hops:
                    total += 1
                    right += int(logits[at + v] == g.labels[v])
            at += g.num_nodes
    return right / max(total, 1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, nargs="+", default=[0, 1, 2, 3, 4, 6, 8, 12])
    p.add_argument("--train", type=int, default=2000)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=ROOT / "runs" / "ggnn_steps.md")
    args = p.parse_args()
    torch.set_num_threads(1)
    data = {k: [Graph(*g) for g in v] for k, v in graph_data("reachability", args.train, 500, 500, seed=0).items()}
    majority = sum(sum(g.labels) for g in data["test"]) / sum(g.num_nodes for g in data["test"])
    rows = ["| propagation steps T | test node accuracy | test graph accuracy (all nodes right) | "
            "reachable nodes ≥ 5 hops away | train seconds |", "|---|---|---|---|---|"]
    for steps in args.steps:
        seed_everything(args.seed)
        model = NodeClassifier(1, args.hidden, 1, steps=steps, num_classes=2)
        task = NodeTask(data, 1, batch_size=32, seed=args.seed)
        start = time.time()
        Trainer(model, task, TrainConfig(epochs=args.epochs, lr=5e-3, log_every=1000), progress=False).fit()
        seconds = time.time() - start
        test = task.evaluate(model, "test")
        row = (f"| {steps} | {100 * test['accuracy']:.1f}% | {100 * test['graph_accuracy']:.1f}% | "
               f"{100 * far_accuracy(model, data['test']):.1f}% | {seconds:.0f} |")
        print(row, flush=True)
        rows.append(row)
    text = (f"GGNN ({args.hidden} units), reachability, {args.train} training graphs, {args.epochs} epochs, seed "
            f"{args.seed}; a node is reachable in {100 * majority:.1f}% of test nodes\n\n" + "\n".join(rows) + "\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
