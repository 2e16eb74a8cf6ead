"""Tree layer speed: level-wise (every node of one height across the batch in one cell call)
against node by node (one call per node, the same layer with levelwise=False) and the naive
recursion (one tree at a time, one node at a time), in trees per second for forward + backward.
Each row also checks that the three give the same states (max |difference|).

    python bench/tree_speed.py                                   # generated trees of 10–40 words
    python bench/tree_speed.py --data ../shared/data/sst --cells tree-lstm --batch 25
    python bench/tree_speed.py --quick

Timed round-robin, so background load hits every implementation alike; median of --repeats, but
an implementation whose passes so far add up to more than --max-seconds is not timed again for
that cell (it always gets at least one full forward + backward pass over all the trees): the
RNTN's node-by-node passes (a (H, 2H, 2H) tensor contracted, and its gradient accumulated, once
per node) take tens of seconds each, and five of them would hold the bench for many minutes.
Each row says how many passes each implementation got. The states compared are those of the
first timed pass (no extra untimed passes).
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import machine  # noqa: E402
from rnnlab.data.trees import Tree, read_trees  # noqa: E402
from rnnlab.tree.batch import TreeBatch  # noqa: E402
from rnnlab.tree.layer import TreeLayer  # noqa: E402
from rnnlab.tree.reference import recursive_states  # noqa: E402
from rnnlab.tree.registry import TREE_CELLS, make_tree_cell  # noqa: E402


def random_binary(words: list[str], rng: random.Random) -> Tree:
    if len(words) == 1:
        return Tree("0", word=words[0])
    cut = rng.randint(1, len(words) - 1)
    return Tree("0", (random_binary(words[:cut], rng), random_binary(words[cut:], rng)))


def make_trees(n: int, seed: int, lo: int, hi: int) -> list[Tree]:
    rng = random.Random(seed)
    return [random_binary([f"w{rng.randrange(100)}" for _ in range(rng.randint(lo, hi))], rng) for _ in range(n)]


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cells", nargs="+", default=list(TREE_CELLS), choices=list(TREE_CELLS))
    p.add_argument("--data", type=Path, help="a directory with dev.txt of bracketed trees (default: generated)")
    p.add_argument("--batch", type=int, default=25)
    p.add_argument("--hidden", type=int, default=150)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--max-seconds", type=float, default=30.0,
                   help="per cell and implementation: no more passes once they add up to this (at least one)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="tiny sizes, 1 repeat")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "tree_speed.json")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.quick:
        args.batch, args.hidden, args.repeats = 4, 8, 1
    if args.data is not None:
        trees = read_trees(args.data / "dev.txt")[:args.batch]
        source = f"{args.data}/dev.txt, first {len(trees)}"
    else:
        trees = make_trees(args.batch, 0, 10, 40) if not args.quick else make_trees(args.batch, 0, 3, 6)
        source = "random binary trees"
    vocab = {w: i for i, w in enumerate(sorted({w for t in trees for w in t.leaves()}))}
    batch = TreeBatch.from_trees(trees, vocab.__getitem__)
    emb = torch.randn(len(vocab), args.hidden)
    x = torch.where(batch.has_input.unsqueeze(-1), emb[batch.tokens], torch.zeros(()))
    rows = []
    for name in args.cells:
        torch.manual_seed(0)
        cell = make_tree_cell(name, args.hidden, args.hidden)
        level, node = TreeLayer(cell), TreeLayer(cell, levelwise=False)

        def layer_step(layer):
            xi = x.clone().requires_grad_(True)
            out = layer(batch, xi)
            out.h.sum().backward()
            return out.h.detach()

        def recursion_step():
            states, start = [], 0
            xi = x.clone().requires_grad_(True)
            for tree in trees:
                rows_of = iter(range(start, start + len(tree)))
                states += recursive_states(cell, tree, lambda n: xi[next(rows_of)])
                start += len(tree)
            h = torch.stack([s[0] for s in states])
            h.sum().backward()
            return h.detach()  # the recursion visits leaves in the same post-order as the batch numbers them

        impls = {"levelwise": lambda: layer_step(level), "node_by_node": lambda: layer_step(node),
                 "recursive": recursion_step}
        times = {k: [] for k in impls}
        states = {}
        for _ in range(args.repeats):
            for k, f in impls.items():
                if times[k] and sum(times[k]) > args.max_seconds:
                    continue  # timed enough: a slow implementation gets fewer passes, never zero
                cell.zero_grad()
                start = time.perf_counter()
                h = f()
                times[k].append(time.perf_counter() - start)
                states.setdefault(k, h)
        diff = max(float((states[k] - states["levelwise"]).abs().max()) for k in ("node_by_node", "recursive"))
        tps = {k: len(trees) / statistics.median(v) for k, v in times.items()}
        passes = {k: len(v) for k, v in times.items()}
        row = {"cell": name, "trees": len(trees), "nodes": batch.num_nodes, "levels": len(batch.levels()),
               "hidden": args.hidden, "trees_per_s": tps, "speedup_vs_node": tps["levelwise"] / tps["node_by_node"],
               "speedup_vs_recursive": tps["levelwise"] / tps["recursive"], "max_abs_diff": diff, "passes": passes}
        rows.append(row)
        print(f"{name:15s} {batch.num_nodes} nodes, {row['levels']} levels: level-wise {tps['levelwise']:8.1f} trees/s, "
              f"node by node {tps['node_by_node']:7.1f}, recursive {tps['recursive']:7.1f}  "
              f"(x{row['speedup_vs_node']:.1f}, x{row['speedup_vs_recursive']:.1f}; max diff {diff:.1e}; passes "
              f"{passes['levelwise']}/{passes['node_by_node']}/{passes['recursive']})", flush=True)
    result = {"machine": machine(), "source": source, "batch": args.batch, "repeats": args.repeats,
              "max_seconds": args.max_seconds, "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
