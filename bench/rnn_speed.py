"""Training-step speed of rnnlab's recurrent layers against torch.nn and the autograd loop.

One step = forward + backward: gradients of a fixed random output gradient with respect to the
input and every parameter. For each (config, shape) up to three implementations of one function
are timed round-robin, so background load hits them equally:

    rnnlab  Recurrent(cell)               the cell's hand-derived BPTT if it has one, else the loop
    torch   torch.nn.LSTM / GRU / RNN     same weights (only where torch.nn has the same cell)
    loop    Recurrent(cell, fused=False)  step-by-step autograd reference

and reported as median ms with vs_torch = torch_ms / rnnlab_ms, vs_loop = loop_ms / rnnlab_ms
(higher = rnnlab faster), checked against each config's target. Every row also gives the achieved
GFLOP/s of rnnlab and torch (the step's matrix products: 6·T·B·G·H·(D + H) for G gate blocks,
forward + both backward products) and its fraction of this machine's sgemm rate, measured in the
same run (a 1024² float32 product, same threads and clock). The batch-1 row set (online use) and
the generation rows (characters per second of `rnnlab generate`'s loop, one step at a time,
against the same model in torch.nn) run unless --no-batch1 / --no-generation.

"lstm-ours" is the plain LSTM on rnnlab's own compiled kernel; "lstm" takes torch's oneDNN kernel
where `use_torch_kernel` says it is faster (the decision these rows check).

    python bench/rnn_speed.py                       # all configs and shapes (~15 min on 2 cores)
    python bench/rnn_speed.py --quick               # one small shape, 3 repeats
    python bench/rnn_speed.py --configs lstm gru --shapes 100,32,64,256 --threads 1 --clock cpu

--clock cpu times with the process's CPU time instead of the wall clock: on a shared machine
other jobs' time slices then do not count (use it with --threads 1).
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
from rnnlab.cells import _compiled
from rnnlab.cells.base import RecurrentCell

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/machine.py, also when loaded from a file
from machine import machine  # noqa: E402

SHAPES = [(100, 32, 64, 256), (200, 16, 32, 128), (50, 128, 512, 1024)]  # (T, B, D, H)
BATCH1_SHAPES = [(200, 1, 32, 128), (100, 1, 64, 256), (50, 1, 512, 1024)]  # online / generation use
QUICK_SHAPE = (50, 16, 32, 64)
GENERATION = dict(vocab=96, hidden=256, chars=300)  # the demo preset's model: 1 layer of 256
GATES = {LSTMCell: 4, GRUCell: 3, ElmanCell: 1}
DEFAULT_OUT = Path(__file__).parent / "results" / "rnn_speed.json"
SAME_FUNCTION_ATOL = 1e-8  # largest |Δ output| between implementations, checked in float64
CHECK_STEPS = 20  # steps compared: float32 paths drift apart by rounding (~5e-3 after 200 LN-LSTM steps)


@dataclass(frozen=True)
class Config:
    make_cell: Callable[[int, int], RecurrentCell]  # (D, H) -> cell
    torch_twin: type[nn.RNNBase] | None  # torch.nn layer computing the same function, if any
    target: tuple[str, float]  # (ratio, minimum) the table checks


class OwnKernelLSTM(LSTMCell):
    """A plain LSTMCell that never hands its sequence to torch's oneDNN kernel (`use_torch_kernel`)."""

    @property
    def is_torch_lstm(self) -> bool:
        return False


CONFIGS = {
    "lstm": Config(lambda D, H: LSTMCell(D, H), nn.LSTM, ("vs_torch", 1.0)),
    "lstm-ours": Config(lambda D, H: OwnKernelLSTM(D, H), nn.LSTM, ("vs_torch", 1.2)),
    "gru": Config(lambda D, H: GRUCell(D, H), nn.GRU, ("vs_torch", 2.0)),
    "elman": Config(lambda D, H: ElmanCell(D, H), nn.RNN, ("vs_torch", 2.0)),
    "lstm-peephole": Config(lambda D, H: LSTMCell(D, H, peephole=True), None, ("vs_loop", 2.5)),
    "lstm-layernorm": Config(lambda D, H: LSTMCell(D, H, layer_norm=True), None, ("vs_loop", 2.5)),
}


def compiled_state() -> str:
    """'yes' when the compiled kernels ran this bench, else why not."""
    if not _compiled.enabled():
        return f"off ({_compiled.ENV}=0)"
    return "yes" if _compiled.available() else f"no ({_compiled._state['error']})"


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


CLOCK = time.perf_counter  # or time.process_time (--clock cpu)


def train_step_ms(layer: nn.Module, x: Tensor, grad_out: Tensor) -> float:
    """Time one forward + backward (grads w.r.t. x and all parameters; nothing accumulates)."""
    inputs = [x, *layer.parameters()]
    start = CLOCK()
    y, _ = layer(x)
    torch.autograd.grad(y, inputs, grad_out)
    return (CLOCK() - start) * 1e3


def sgemm_gflops(repeats: int = 7, n: int = 1024) -> float:
    """This machine's float32 GEMM rate now (median of `repeats` n×n products), same threads and clock."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b  # warm-up
    times = []
    for _ in range(repeats):
        start = CLOCK()
        a @ b
        times.append(CLOCK() - start)
    return 2 * n**3 / statistics.median(times) / 1e9


def step_gflop(cell: RecurrentCell, T: int, B: int, D: int, H: int) -> float:
    """GFLOP of one training step's matrix products: input and recurrent products forward, and for each
    its input-gradient and weight-gradient products backward: 3 · 2·T·B·G·H·(D + H)."""
    G = next((g for cls, g in GATES.items() if isinstance(cell, cls)), 1)
    return 6 * T * B * G * H * (D + H) / 1e9


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
    gflop = step_gflop(impls["rnnlab"].cell, T, B, D, H)
    gflops = {n: gflop / (ms[n] / 1e3) for n in ms}
    return {
        "config": name, "T": T, "B": B, "D": D, "H": H,
        "fused": fused_taken(impls["rnnlab"].cell, x),
        "ms": ms, **ratios,
        "gflop": gflop, "gflops": gflops, "sgemm_fraction": {n: v / args.sgemm_gflops for n, v in gflops.items()},
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

    def rate(r, n):
        return "-" if n not in r["gflops"] else f"{r['gflops'][n]:.1f} ({100 * r['sgemm_fraction'][n]:.0f}%)"

    head = ["config", "T", "B", "D", "H", "fused", "rnnlab ms", "torch ms", "loop ms"]
    head += ["vs torch", "vs loop", "rnnlab GF/s (sgemm)", "torch GF/s (sgemm)", "target", "met"]
    lines = [head]
    for r in rows:
        target = f"{r['target']['ratio'].removeprefix('vs_')} >= {r['target']['min']}x"
        lines.append([
            r["config"], *(str(r[k]) for k in "TBDH"), "yes" if r["fused"] else "no",
            *(ms(r["ms"].get(n)) for n in ("rnnlab", "torch", "loop")),
            ratio(r["vs_torch"]), ratio(r["vs_loop"]), rate(r, "rnnlab"), rate(r, "torch"),
            target, {True: "yes", False: "NO", None: "-"}[r["met"]],
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
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall", help="wall clock, or the process's CPU time")
    p.add_argument("--no-batch1", action="store_true", help=f"skip the batch-1 shapes {BATCH1_SHAPES}")
    p.add_argument("--no-generation", action="store_true", help="skip the generation (chars/s) rows")
    p.add_argument("--only-generation", action="store_true", help="only the generation (chars/s) rows")
    args = p.parse_args(argv)
    if args.only_generation and (args.no_generation or args.quick):
        p.error("--only-generation cannot be combined with --no-generation or --quick")
    default_shapes = SHAPES if args.no_batch1 else SHAPES + BATCH1_SHAPES
    args.shapes = args.shapes or ([QUICK_SHAPE] if args.quick else default_shapes)
    if args.quick:
        args.no_generation = True
    if args.repeats is None:
        args.repeats = 3 if args.quick else 7
    if args.repeats < 1 or args.warmup < 0:
        p.error("--repeats must be >= 1 and --warmup >= 0")
    return args


class TorchLanguageModel(nn.Module):
    """A LanguageModel's twin from torch.nn modules (same weights): tokens (T, B) → logits, state."""

    def __init__(self, model, cls: type[nn.RNNBase]):
        super().__init__()
        cell = model.rnn.layers[0].cell
        self.embedding, self.decoder = copy.deepcopy(model.embedding), copy.deepcopy(model.decoder)
        self.rnn = torch_twin(cell, cls)

    def forward(self, tokens: Tensor, state=None):
        h, state = self.rnn(self.embedding(tokens), state)
        return self.decoder(h), state


GENERATION_CELLS = {"lstm": ("lstm", nn.LSTM), "gru": ("gru", nn.GRU), "elman": ("elman", nn.RNN)}


def generation(args) -> list[dict]:
    """Characters per second of `rnnlab generate`'s loop (rnnlab.lm.sampling.generate: one token of one
    sequence per model call) for the demo preset's model size, against the same model in torch.nn."""
    from rnnlab.lm.model import LanguageModel
    from rnnlab.lm.sampling import generate

    V, H, n = GENERATION["vocab"], GENERATION["hidden"], GENERATION["chars"]
    rows = []
    for name, (cell, cls) in GENERATION_CELLS.items():
        torch.manual_seed(0)
        models = {"rnnlab": LanguageModel.build(V, cell=cell, hidden_size=H, num_layers=1)}
        models["torch"] = TorchLanguageModel(models["rnnlab"], cls)
        prime = torch.randint(V, (8,))
        texts = {k: list(generate(m, prime, 50, seed=0)) for k, m in models.items()}
        if texts["rnnlab"] != texts["torch"]:
            raise AssertionError(f"generation {name}: rnnlab and torch.nn sample different text")
        times = {k: [] for k in models}
        for r in range(args.warmup + max(1, args.repeats // 2)):
            for k, m in models.items():
                start = CLOCK()
                for _ in generate(m, prime, n, seed=r):
                    pass
                if r >= args.warmup:
                    times[k].append(CLOCK() - start)
        cps = {k: n / statistics.median(v) for k, v in times.items()}
        rows.append({"config": name, "hidden": H, "vocab": V, "chars": n, "chars_per_s": cps,
                     "vs_torch": cps["rnnlab"] / cps["torch"], "times_s": times})
    return rows


def generation_table(rows: list[dict]) -> str:
    lines = [f"generation (batch 1, one step at a time, {GENERATION['hidden']} hidden, 1 layer): chars/s"]
    for r in rows:
        cps = r["chars_per_s"]
        lines.append(f"  {r['config']:6s} rnnlab {cps['rnnlab']:8.0f}  torch.nn {cps['torch']:8.0f}  ratio {r['vs_torch']:.2f}x")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    global CLOCK
    args = parse_args(argv)
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    if args.threads:
        torch.set_num_threads(args.threads)
    args.sgemm_gflops = sgemm_gflops()
    runs = [] if args.only_generation else [(c, s) for c in args.configs for s in args.shapes]
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
    gen_rows = [] if args.no_generation else generation(args)
    sgemm_after = sgemm_gflops()  # the machine is shared: its rate may drift during the run
    result = {
        "machine": machine(), "repeats": args.repeats, "warmup": args.warmup, "clock": args.clock,
        "sgemm_gflops": args.sgemm_gflops, "sgemm_gflops_after": sgemm_after, "compiled": compiled_state(),
        "rows": rows, "generation": gen_rows,
    }
    m = result["machine"]
    print(f"train step (fwd+bwd), median of {args.repeats} | torch {m['torch']}, {m['threads']} threads | {args.clock} clock"
          f" | sgemm {args.sgemm_gflops:.1f} GF/s (after: {sgemm_after:.1f}) | compiled kernels: {result['compiled']}"
          f" | {m['cpu']} | {m['date']}")
    if rows:
        print(table(rows))
    if gen_rows:
        print(generation_table(gen_rows))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
