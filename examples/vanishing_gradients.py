"""Vanishing gradients: how much of a loss on step T reaches step t in Elman, LSTM and GRU layers.

Prints ‖∂L/∂h_t‖ every few steps and the ratio ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ for each layer, freshly
initialised, on one random sequence (T = 200 by default), and saves the curves as a log-scale plot.
An Elman layer loses roughly a constant factor per step (Bengio et al. 1994). The LSTM's cure is a
forget gate that stays near 1 (Hochreiter & Schmidhuber 1997; Gers et al. 2000), but at the default
initialisation f = σ(≈0) ≈ 0.5, so an untrained LSTM forgets fast too; the last curve sets the
forget-gate bias (Jozefowicz et al. 2015) so that f starts near 1 and the gradient survives.

    python examples/vanishing_gradients.py [--length 200] [--forget-bias 3] [--out vanishing_gradients.png]

The same comparison, without the forget-bias curve, is `rnnlab gradients`.
"""
from __future__ import annotations

import argparse
import functools
import time

import rnnlab
from rnnlab.cells.registry import make_cell
from rnnlab.cli.gradients import DEFAULT_CELLS, gradient_curves, one_thread, report
from rnnlab.train.plots import plot_gradient_norms


def main(argv=None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--length", type=int, default=200, help="sequence length T")
    ap.add_argument("--forget-bias", type=float, default=3.0, help="forget-gate bias of the last LSTM curve")
    ap.add_argument("--out", default="vanishing_gradients.png", help="where to save the plot")
    args = ap.parse_args(argv)

    cells = {name: functools.partial(make_cell, name) for name in DEFAULT_CELLS}  # elman, lstm, gru as defaults
    cells[f"lstm, forget bias {args.forget_bias:g}"] = functools.partial(rnnlab.LSTMCell, forget_bias=args.forget_bias)
    start = time.perf_counter()
    curves = one_thread(gradient_curves, cells, length=args.length)  # tiny tensors: see one_thread
    print(report(curves))
    path = plot_gradient_norms(curves, args.out, title=f"‖∂L/∂h_t‖ for a loss on step {args.length}")
    print(f"plot: {path}  ({time.perf_counter() - start:.1f} s)")
    return {name: float(c[0] / c[-1]) for name, c in curves.items()}


if __name__ == "__main__":
    main()
