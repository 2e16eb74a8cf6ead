"""`rnnlab gradients`: how far back the gradient reaches in Elman, LSTM and GRU layers.

Each cell (by default elman, lstm and gru; any name `rnnlab cells` lists), freshly initialised with the library's defaults, reads the same random sequence; the
loss is the squared error of the last step's output against a random target, so ‖∂L/∂h_t‖ shows
how much of that error reaches step t (Bengio et al. 1994; Hochreiter & Schmidhuber 1997). The
ratio ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ sums the curve up: ≪ 1 is a vanishing gradient, ≫ 1 an exploding one.

    rnnlab gradients [--cell elman lstm gru] [--length 200] [--hidden 64] [--batch 16] [--out gradients.png]
"""
from __future__ import annotations

import argparse
import functools
from pathlib import Path
from typing import Callable, Iterable, Mapping

import torch
from torch import Tensor
from torch.nn import functional as F

import rnnlab
from rnnlab.cells.registry import cell_names, make_cell
from rnnlab.errors import ConfigError
from rnnlab.train.config import INT64
from rnnlab.train.diagnostics import gradient_norm_table, hidden_gradient_norms

CellFactory = Callable[[int, int], rnnlab.RecurrentCell]  # (input_size, hidden_size) -> cell
DEFAULT_CELLS = ("elman", "lstm", "gru")
INPUT_SIZE = 8


def gradient_curves(
    cells: Iterable[str] | Mapping[str, CellFactory] = DEFAULT_CELLS,
    length: int = 200,
    hidden: int = 64,
    batch: int = 16,
    seed: int = 0,
) -> dict[str, Tensor]:
    """‖∂L/∂h_t‖, t = 1…length, for one default-initialised layer per cell (same inputs for all).

    cells: names from the cell registry (`rnnlab cells` lists them), or a mapping
    name → factory(input_size, hidden_size) -> cell for variants the registry does not name.
    Runs in float64: an Elman gradient 200 steps back is far below float32's smallest normal
    number (about 1e-38) and would read as 0. The global random state is left untouched.
    """
    if not isinstance(cells, Mapping):
        unknown = [name for name in cells if name not in cell_names()]
        if unknown:  # before any work, not after the cells named first have run
            raise ConfigError(f"unknown cell {unknown[0]!r}; choose one of: {', '.join(cell_names())}")
        # each name once, in the order given
        cells = {name: functools.partial(make_cell, name) for name in cells}
    if not cells:
        raise ConfigError(f"give at least one cell (one of: {', '.join(cell_names())})")
    for name, value in (("length", length), ("hidden", hidden), ("batch", batch)):
        if value < 1:
            raise ConfigError(f"{name} must be at least 1, got {value}")
    if not INT64[0] <= seed < INT64[1]:  # seed + 1 seeds the target
        raise ConfigError(f"seed must fit in 64 bits, got {seed}")
    x = torch.randn(length, batch, INPUT_SIZE, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    curves = {}
    for name, factory in cells.items():
        with torch.random.fork_rng():
            torch.manual_seed(seed)  # the cell's default initialisation draws from the global generator
            layer = rnnlab.Recurrent(factory(INPUT_SIZE, hidden)).double()
        # the same target for every cell of the same output width (B, output_size)
        target = torch.randn(batch, layer.output_size, generator=torch.Generator().manual_seed(seed + 1), dtype=torch.float64)
        curves[name] = hidden_gradient_norms(layer, x, lambda out, final: F.mse_loss(out[-1], target))
    return curves


def gradient_ratio(curve: Tensor) -> float:
    """‖∂L/∂h_1‖ / ‖∂L/∂h_T‖: how much of the last step's gradient survives back to the first."""
    return float(curve[0] / curve[-1])


def report(curves: dict[str, Tensor]) -> str:
    """The table (every ~T/20 steps) and each cell's first-to-last ratio, as printed by the command."""
    T = len(next(iter(curves.values())))
    width = max(len(name) for name in curves)
    lines = [
        f"‖dL/dh_t‖ for a loss on the last of T={T} steps",
        gradient_norm_table(curves, every=max(1, T // 20)),
        "",
        "‖dL/dh_1‖ / ‖dL/dh_T‖:",
        *(f"  {name:<{width}}  {gradient_ratio(curve):.3e}" for name, curve in curves.items()),
    ]
    return "\n".join(lines)


def one_thread(fn, *args, **kwargs):
    """fn(*args, **kwargs) with torch on one thread, restored afterwards.

    The tensors here are tiny (B × H per step): a second thread gains nothing, and when another
    process keeps the cores busy every parallel region waits for one — measured on the 2-core
    development machine under load: 6 s for the Elman curve on 2 threads, 0.05 s on one.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return fn(*args, **kwargs)
    finally:
        torch.set_num_threads(threads)


def register(subparsers, argv=()) -> None:
    p = subparsers.add_parser(
        "gradients", help="show vanishing / exploding gradients of Elman, LSTM and GRU layers",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--cell", nargs="+", default=list(DEFAULT_CELLS), metavar="NAME",
                   help=f"cells to compare, any of `rnnlab cells` (default: {' '.join(DEFAULT_CELLS)})")
    p.add_argument("--length", type=int, default=200, help="sequence length T (default 200)")
    p.add_argument("--hidden", type=int, default=64, help="hidden units (default 64)")
    p.add_argument("--batch", type=int, default=16, help="sequences in the batch (default 16)")
    p.add_argument("--seed", type=int, default=0, help="seed for the weights, inputs and target")
    p.add_argument("--out", type=Path, default=Path("gradients.png"), help="where to save the plot")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rnnlab.train.plots import plot_gradient_norms  # imports matplotlib: only when plotting

    curves = one_thread(gradient_curves, args.cell, args.length, args.hidden, args.batch, args.seed)
    print(report(curves))
    title = f"‖∂L/∂h_t‖, loss on step {args.length} (H={args.hidden}, B={args.batch})"
    path = plot_gradient_norms(curves, args.out, title=title)
    print(f"plot: {path}")
    return 0
