"""Training-step speed of rnnlab's recurrent layers against torch.nn and the autograd loop.

One step = forward + backward: gradients of a fixed random output gradient with respect to the
input and every parameter. For each (config, shape) up to three implementations of one function
are timed round-robin, so background load hits them equally:

    rnnlab  Recurrent(cell)               the cell's hand-derived BPTT if it has one, else the loop
    torch   torch.nn.LSTM / GRU / RNN     same weights (only where torch.nn has the same cell)
    loop    Recurrent(cell, fused=False)  step-by-step autograd reference

and reported as median ms with vs_torch = torch_ms / rnnlab_ms, vs_loop = loop_ms / rnnlab_ms
(higher = rnnlab faster), checked against each config's target.

    python bench/rnn_speed.py                       # all configs and shapes (~10 min on 2 cores)
    python bench/rnn_speed.py --quick               # one small shape, 3 repeats
    python bench/rnn_speed.py --configs lstm gru --shapes 100,32,64,256 --threads 1
"""
from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor, nn

from rnnlab import ElmanCell, GRUCell, LSTMCell, Recurrent
from rnnlab.cells.base import RecurrentCell

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/machine.py, also when loaded from a file
from machine import machine  # noqa: E402

SHAPES = [(100, 32, 64, 256), (200, 16, 32, 128), (50, 128, 512, 1024)]  # (T, B, D, H)
QUICK_SHAPE = (50, 16, 32, 64)
DEFAULT_OUT = Path(__file__).parent / "results" / "rnn_speed.json"
SAME_FUNCTION_ATOL = 1e-8  # largest |Δ output| between implementations, checked in float64
CHECK_STEPS = 20  # steps compared: float32 paths drift apart by rounding (~5e-3 after 200 LN-LSTM steps)


@dataclass(frozen=True)
class Config:
    make_cell: Callable[[int, int], RecurrentCell]  # (D, H) -> cell
    torch_twin: type[nn.RNNBase] | None  # torch.nn layer computing the same function, if any
    target: tuple[str, float]  # (ratio, minimum) the table checks


CONFIGS = {
    "lstm": Config(lambda D, H: LSTMCell(D, H), nn.LSTM, ("vs_torch", 1.0)),
    "gru": Config(lambda D, H: GRUCell(D, H), nn.GRU, ("vs_torch", 1.3)),
    "elman": Config(lambda D, H: ElmanCell(D, H), nn.RNN, ("vs_torch", 1.3)),
    "lstm-peephole": Config(lambda D, H: LSTMCell(D, H, peephole=True), None, ("vs_loop", 2.5)),
    "lstm-layernorm": Config(lambda D, H: LSTMCell(D, H, layer_norm=True), None, ("vs_loop", 2.5)),
}


def torch_twin(cell: RecurrentCell, cls: type[nn.RNNBase]) -> nn.RNNBase:
    """A one-layer torch.nn RNN holding a copy of the cell's weights."""
    twin = cls(cell.input_size, cell.hidden_size)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(twin, f"{name}_l0").copy_(getattr(cell, name))
    return twin


def implementations(cfg: Config, D: int, H: int, skip_loop: bool) -> dict[str, nn.Module]:
    cell = cfg.make_cell(D, H)
    impls: dict[str, nn.Module] = {"rnnlab": Recurrent(cell)}
    if cfg.torch_twin is not None:
        impls["torch"] = torch_twin(cell, cfg.torch_twin)
    if not skip_loop:
        impls["loop"] = Recurrent(cell, fused=False)
    return impls


def fused_taken(cell: RecurrentCell, x: Tensor) -> bool:
    """Whether Recurrent(cell) runs the hand-derived BPTT (it falls back to the loop on None)."""
    scan = getattr(cell, "fused_scan", None)
    with torch.no_grad():
        return scan is not None and scan(x[:1], cell.init_state(x.shape[1]), None) is not None


def max_difference(impls: dict[str, nn.Module], x: Tensor) -> float:
    """Largest |output - first implementation's output| in float64 over the first CHECK_STEPS steps;
    raises if the implementations compute different functions."""
    x64 = x[:CHECK_STEPS].detach().double()
    with torch.no_grad():
        outs = {name: copy.deepcopy(layer).double()(x64)[0] for name, layer in impls.items()}
    first = next(iter(outs.values()))
    diff = max((out - first).abs().max().item() for out in outs.values())
    if diff > SAME_FUNCTION_ATOL:
        raise AssertionError(f"implementations disagree by {diff:.2e} (> {SAME_FUNCTION_ATOL}): {list(outs)}")
    return diff


def train_step_ms(layer: nn.Module, x: Tensor, grad_out: Tensor) -> float:
    """Time one forward + backward (grads w.r.t. x and all parameters; nothing accumulates)."""
    inputs = [x, *layer.parameters()]
    start = time.perf_counter()
    y, _ = layer(x)
    torch.autograd.grad(y, inputs, grad_out)
    return (time.perf_counter() - start) * 1e3


def bench(name: str, shape: tuple[int, int, int, int], args, progress) -> dict:
    T, B, D, H = shape
    cfg = CONFIGS[name]
    torch.manual_seed(0)
    impls = implementations(cfg, D, H, skip_loop=args.skip_loop_above is not None and H > args.skip_loop_above)
    x = torch.randn(T, B, D, requires_grad=True)
    grad_out = torch.randn(T, B, H)
    diff = max_difference(impls, x)
    names, times = list(impls), {n: [] for n in impls}
    for r in range(args.warmup + args.repeats):
        k = r % len(names)
        for n in names[k:] + names[:k]:  # rotate the order so no implementation always goes first
            ms = train_step_ms(impls[n], x, grad_out)
            if r >= args.warmup:
                times[n].append(ms)
        progress.update()
    ms = {n: statistics.median(v) for n, v in times.items()}
    ratios = {f"vs_{n}": ms[n] / ms["rnnlab"] if n in ms else None for n in ("torch", "loop")}
    metric, minimum = cfg.target
    return {
        "config": name, "T": T, "B": B, "D": D, "H": H,
        "fused": fused_taken(impls["rnnlab"].cell, x),
        "ms": ms, **ratios,
        "target": {"ratio": metric, "min": minimum},
        "met": None if ratios[metric] is None else ratios[metric] >= minimum,
        "max_abs_diff": diff,
        "times_ms": times,
    }


def table(rows: list[dict]) -> str:
    def ms(v):
        return "-" if v is None else f"{v:.2f}"

    def ratio(v):
        return "-" if v is None else f"{v:.2f}x"

    head = ["config", "T", "B", "D", "H", "fused", "rnnlab ms", "torch ms", "loop ms"]
    head += ["vs torch", "vs loop", "target", "met"]
    lines = [head]
    for r in rows:
        target = f"{r['target']['ratio'].removeprefix('vs_')} >= {r['target']['min']}x"
        lines.append([
            r["config"], *(str(r[k]) for k in "TBDH"), "yes" if r["fused"] else "no",
            *(ms(r["ms"].get(n)) for n in ("rnnlab", "torch", "loop")),
            ratio(r["vs_torch"]), ratio(r["vs_loop"]), target, {True: "yes", False: "NO", None: "-"}[r["met"]],
        ])
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    return "\n".join(
        "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths)))
        for line in lines
    )


class PrintProgress:
    """Stand-in for tqdm when it is not installed: one line per (config, shape)."""

    def __init__(self, total: int):
        self.total, self.done = total, 0

    def set_description(self, text: str) -> None:
        print(f"[{self.done}/{self.total} rounds] {text}", file=sys.stderr, flush=True)

    def update(self, n: int = 1) -> None:
        self.done += n

    def close(self) -> None:
        pass


def shape_arg(text: str) -> tuple[int, int, int, int]:
    try:
        T, B, D, H = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"shape must be T,B,D,H (four integers), got {text!r}") from None
    return T, B, D, H


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_shapes = " ".join(",".join(map(str, shape)) for shape in SHAPES)
    p.add_argument("--shapes", nargs="+", type=shape_arg, metavar="T,B,D,H", help=f"default: {default_shapes}")
    p.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    p.add_argument("--repeats", type=int, help="timed steps per implementation, median reported (default 7; --quick 3)")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps per implementation first (default 1)")
    p.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's choice)")
    p.add_argument("--quick", action="store_true", help=f"one small shape {QUICK_SHAPE}, 3 repeats")
    p.add_argument("--skip-loop-above", type=int, metavar="H", help="skip the (slow) autograd loop when hidden size > H")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results (default: bench/results/rnn_speed.json)")
    args = p.parse_args(argv)
    args.shapes = args.shapes or ([QUICK_SHAPE] if args.quick else SHAPES)
    if args.repeats is None:
        args.repeats = 3 if args.quick else 7
    if args.repeats < 1 or args.warmup < 0:
        p.error("--repeats must be >= 1 and --warmup >= 0")
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    runs = [(c, s) for c in args.configs for s in args.shapes]
    rounds = len(runs) * (args.warmup + args.repeats)
    try:
        from tqdm import tqdm

        progress = tqdm(total=rounds, unit="round", file=sys.stderr)
    except ImportError:
        progress = PrintProgress(rounds)
    rows = []
    for name, shape in runs:
        progress.set_description(f"{name} {','.join(map(str, shape))}")
        rows.append(bench(name, shape, args, progress))
    progress.close()
    result = {"machine": machine(), "repeats": args.repeats, "warmup": args.warmup, "rows": rows}
    m = result["machine"]
    print(f"train step (fwd+bwd), median of {args.repeats} | torch {m['torch']}, {m['threads']} threads | {m['cpu']} | {m['date']}")
    print(table(rows))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
