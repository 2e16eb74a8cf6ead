"""Training throughput of a character-level language model: rnnlab against torch.nn, same loop.

Both models are trained on the built-in corpus (the standard library's sources) by the same
`rnnlab.train.Trainer` and `LanguageModelTask` that `rnnlab train` uses, one update at a time,
alternately, so background load hits both alike:

    rnnlab  rnnlab.lm.LanguageModel: Embedding → Stacked(Recurrent(cell)) → Linear
    torch   TorchLM: nn.Embedding → nn.LSTM / nn.GRU / nn.RNN(tanh) → nn.Linear, rnnlab's weights copied in

Before timing, float64 copies of the two must give the same losses and gradients over two
consecutive truncated-BPTT windows (the second starting from the state the first handed on);
a config that fails is refused, not timed. Reported: tokens/s = batch · bptt / median seconds
per update, and ratio = rnnlab tok/s / torch tok/s (higher = rnnlab faster).

    python bench/train_speed.py --threads 1         # lstm, gru, elman at two sizes (~30 s)
    python bench/train_speed.py --quick             # tiny model, 3 updates (seconds)
    python bench/train_speed.py --cells lstm --sizes default --updates 20
"""
from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from rnnlab.cells.lstm import LSTMCell
from rnnlab.cells.lstm_bptt import use_torch_kernel
from rnnlab.data import Vocabulary, stdlib_corpus
from rnnlab.lm import LanguageModel, LanguageModelTask
from rnnlab.train import TrainConfig, Trainer

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/machine.py, also when loaded from a file
from machine import machine  # noqa: E402

TWINS = {"lstm": nn.LSTM, "gru": nn.GRU, "elman": nn.RNN}  # rnnlab cell name → torch.nn layer (RNN: tanh)
CELL_PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")  # same names in rnnlab cells and torch.nn
DEFAULT_OUT = Path(__file__).parent / "results" / "train_speed.json"
SAME_FUNCTION_ATOL = 1e-8  # largest |Δ loss| or |Δ gradient| allowed in the float64 check
FLOAT32_LOSS_ATOL = 1e-4  # largest |Δ loss| allowed on the first (float32, same weights) timed update


@dataclass(frozen=True)
class Size:
    embedding: int  # embedding width E
    hidden: int  # units per layer H
    layers: int  # stacked recurrent layers L
    batch: int  # parallel streams B
    bptt: int  # steps per update T (tokens per update = B · T)


SIZES = {
    "default": Size(64, 256, 2, 32, 100),  # `rnnlab train`'s char-LM defaults
    "small": Size(64, 128, 1, 16, 50),
}
QUICK_SIZE = Size(16, 32, 2, 4, 20)


class TorchLM(nn.Module):
    """The same language model built from torch.nn parts; forward(tokens (T, B), state) → (logits (T, B, V), state).

    State None starts from zeros; the final state is torch's own layout, h (L, B, H) or (h, c).
    """

    def __init__(self, vocab_size: int, cell: str, hidden_size: int, num_layers: int, embedding_size: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_size)
        self.rnn = TWINS[cell](embedding_size, hidden_size, num_layers)
        self.decoder = nn.Linear(hidden_size, vocab_size)

    def forward(self, tokens: Tensor, state=None):
        h, state = self.rnn(self.embedding(tokens), state)  # h: (T, B, H)
        return self.decoder(h), state


def param_pairs(lm: LanguageModel, twin: TorchLM) -> list[tuple[str, nn.Parameter, nn.Parameter]]:
    """(torch name, rnnlab parameter, torch parameter) for every parameter of both models.

    The recurrent weights follow `rnnlab.layers.torch_compat`: cell `weight_ih` of layer k is
    torch's `weight_ih_l{k}`, gate order included. Raises if either model has a parameter left over.
    """
    pairs = [("embedding.weight", lm.embedding.weight, twin.embedding.weight)]
    for k, layer in enumerate(lm.rnn.layers):
        pairs += [(f"rnn.{n}_l{k}", getattr(layer.cell, n), getattr(twin.rnn, f"{n}_l{k}")) for n in CELL_PARAMS]
    pairs += [(f"decoder.{n}", getattr(lm.decoder, n), getattr(twin.decoder, n)) for n in ("weight", "bias")]
    for side, model in ((1, lm), (2, twin)):
        if {id(p[side]) for p in pairs} != {id(p) for p in model.parameters()}:
            raise AssertionError(f"{type(model).__name__}: parameters do not pair up one to one with the other model's")
    return pairs


def torch_twin(lm: LanguageModel) -> TorchLM:
    """A TorchLM of the same sizes holding a copy of `lm`'s weights."""
    c = lm.config()
    twin = TorchLM(c["vocab_size"], c["cell"], c["hidden_size"], c["num_layers"], c["embedding_size"])
    with torch.no_grad():
        for name, ours, theirs in param_pairs(lm, twin):
            if ours.shape != theirs.shape:
                raise AssertionError(f"{name}: rnnlab {tuple(ours.shape)} vs torch {tuple(theirs.shape)}")
            theirs.copy_(ours)
    n_ours, n_theirs = (sum(p.numel() for p in m.parameters()) for m in (lm, twin))
    assert n_ours == n_theirs, f"parameter counts differ: rnnlab {n_ours}, torch {n_theirs}"
    return twin.to(lm.decoder.weight.dtype)


def check_same_function(lm: nn.Module, twin: nn.Module, ids: Tensor, *, batch: int = 2, bptt: int = 8,
                        windows: int = 2) -> dict:
    """Train float64 copies of both models on `windows` consecutive windows of `ids` (loss, then
    backward, the state carried between windows) and compare the losses and summed gradients.
    Records the largest differences; the caller decides what is too large."""
    task = LanguageModelTask({"train": ids[: batch * (windows * bptt + 1)]}, level="char", batch_size=batch, bptt=bptt)
    assert task.num_batches() == windows
    copies = {"rnnlab": copy.deepcopy(lm).double(), "torch": copy.deepcopy(twin).double()}
    losses = {}
    for name, model in copies.items():
        carry, out = None, []
        for index in range(windows):
            step = task.train_step(model, 1, index, carry)
            step.loss.backward()
            out.append(step.loss.detach())
            carry = step.carry
        losses[name] = torch.stack(out)
    pairs = param_pairs(copies["rnnlab"], copies["torch"])
    loss_diff = (losses["rnnlab"] - losses["torch"]).abs().max().item()
    grad_diff = max((ours.grad - theirs.grad).abs().max().item() for _, ours, theirs in pairs)
    return {"max_abs_diff": max(loss_diff, grad_diff), "loss_diff": loss_diff, "grad_diff": grad_diff,
            "grads_compared": len(pairs), "batch": batch, "bptt": bptt, "windows": windows}


def rnnlab_path(lm: LanguageModel, ids: Tensor, batch: int) -> str:
    """Which code trains rnnlab's recurrent layers in float32 here: torch's LSTM kernel (rnnlab
    hands plain LSTMs to it on CPU where it is faster, which depends on the batch size), the cell's
    hand-derived BPTT, or the autograd loop."""
    cell = lm.rnn.layers[0].cell
    x = lm.embed(ids[:batch].view(1, batch))
    if isinstance(cell, LSTMCell) and use_torch_kernel(cell, x, None):
        return "torch kernel"
    scan = getattr(cell, "fused_scan", None)
    with torch.no_grad():
        fused = scan is not None and scan(x, cell.init_state(batch), None) is not None
    return "hand-derived" if fused else "autograd loop"


def one_update(trainer: Trainer) -> float:
    """Seconds for the trainer's next update, run by `Trainer.fit` itself (a max_steps stop is resumable)."""
    trainer.config.max_steps = trainer.step + 1
    start = time.perf_counter()
    trainer.fit()
    return time.perf_counter() - start


def bench(cell: str, size_name: str, size: Size, ids: Tensor, vocab_size: int, args) -> dict:
    torch.manual_seed(0)
    lm = LanguageModel.build(vocab_size, cell=cell, hidden_size=size.hidden, num_layers=size.layers,
                       embedding_size=size.embedding)
    twin = torch_twin(lm)
    row = {"config": f"{cell} {size_name}", "cell": cell, "size": size_name, **asdict(size),
           "params": sum(p.numel() for p in lm.parameters()), "tokens_per_update": size.batch * size.bptt,
           "rnnlab_path": rnnlab_path(lm, ids, size.batch), "check": check_same_function(lm, twin, ids),
           "refused": None, "tok_s": {"rnnlab": None, "torch": None}, "ratio": None}
    if row["check"]["max_abs_diff"] > SAME_FUNCTION_ATOL:
        row["refused"] = f"float64 check: models differ by {row['check']['max_abs_diff']:.2e} (> {SAME_FUNCTION_ATOL})"
        return row

    task = LanguageModelTask({"train": ids}, level="char", batch_size=size.batch, bptt=size.bptt)
    if args.warmup + args.updates > task.num_batches():
        raise SystemExit(f"{row['config']}: {args.warmup + args.updates} updates need more than the corpus's "
                         f"{task.num_batches()} windows; raise --max-chars")
    trainers = {name: Trainer(model, task, TrainConfig(epochs=1, optimizer="adam", lr=2e-3, clip_norm=5.0, log_every=1),
                              progress=False, tensorboard=False)
                for name, model in (("rnnlab", lm), ("torch", twin))}
    names, seconds = list(trainers), {n: [] for n in trainers}
    for r in range(args.warmup + args.updates):
        for n in names[r % 2:] + names[:r % 2]:  # alternate which goes first
            s = one_update(trainers[n])
            if r >= args.warmup:
                seconds[n].append(s)
        if r == 0:  # same weights, same batch: the first float32 losses must agree too
            first = [trainers[n].log.rows[0]["loss"] for n in names]
            row["float32_first_loss_diff"] = abs(first[0] - first[1])
            if row["float32_first_loss_diff"] > FLOAT32_LOSS_ATOL:
                row["refused"] = f"float32 first-update losses differ by {row['float32_first_loss_diff']:.2e}"
                return row
    losses = {n: [logged["loss"] for logged in t.log.rows] for n, t in trainers.items()}
    median = {n: statistics.median(v) for n, v in seconds.items()}
    row["tok_s"] = {n: row["tokens_per_update"] / median[n] for n in names}
    row["ratio"] = row["tok_s"]["rnnlab"] / row["tok_s"]["torch"]
    row["ms"] = {n: median[n] * 1e3 for n in names}
    # float32 rounding differs between the two, and each Adam update carries it on
    row["loss_drift"] = max(abs(a - b) for a, b in zip(losses["rnnlab"], losses["torch"]))
    row["losses"] = losses
    row["times_ms"] = {n: [s * 1e3 for s in v] for n, v in seconds.items()}
    return row


def table(rows: list[dict]) -> str:
    head = ["config", "E", "H", "L", "B", "T", "params", "rnnlab path", "rnnlab tok/s", "torch tok/s", "ratio",
            "f64 max diff"]
    lines = [head]
    for r in rows:
        speed = ["REFUSED", "-", "-"] if r["refused"] else [
            f"{r['tok_s']['rnnlab']:,.0f}", f"{r['tok_s']['torch']:,.0f}", f"{r['ratio']:.2f}x"]
        lines.append([r["config"], *(str(r[k]) for k in ("embedding", "hidden", "layers", "batch", "bptt")),
                      f"{r['params']:,}", r["rnnlab_path"], *speed, f"{r['check']['max_abs_diff']:.1e}"])
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    return "\n".join(
        "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths)))
        for line in lines
    )


def shape(size: Size) -> str:
    return ",".join(map(str, asdict(size).values()))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cells", nargs="+", choices=list(TWINS), default=list(TWINS))
    p.add_argument("--sizes", nargs="+", choices=list(SIZES), default=list(SIZES),
                   help="; ".join(f"{n}: E,H,L,B,T = {shape(s)}" for n, s in SIZES.items()))
    p.add_argument("--updates", type=int, help="timed updates per model, median reported (default 10; --quick 3)")
    p.add_argument("--warmup", type=int, help="untimed updates per model first (default 2; --quick 1)")
    p.add_argument("--max-chars", type=int, help="training characters of the built-in corpus (default 300000; --quick 20000)")
    p.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's choice)")
    p.add_argument("--quick", action="store_true", help=f"tiny model (E,H,L,B,T = {shape(QUICK_SIZE)}), 3 updates")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results (default: bench/results/train_speed.json)")
    args = p.parse_args(argv)
    args.sizes = {"quick": QUICK_SIZE} if args.quick else {n: SIZES[n] for n in args.sizes}
    for name, default, quick in (("updates", 10, 3), ("warmup", 2, 1), ("max_chars", 300_000, 20_000)):
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else default)
    if args.updates < 1 or args.warmup < 1:
        p.error("--updates and --warmup must be >= 1 (the first update checks the float32 losses)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    text = stdlib_corpus(args.max_chars)["train"]
    vocab = Vocabulary.build(text)
    ids = vocab.encode(text)
    runs = [(cell, name, size) for name, size in args.sizes.items() for cell in args.cells]
    rows = []
    for k, (cell, name, size) in enumerate(runs):
        print(f"[{k + 1}/{len(runs)}] {cell} {name}", file=sys.stderr, flush=True)
        rows.append(bench(cell, name, size, ids, len(vocab), args))
    result = {"machine": machine(), "corpus": {"source": "python-stdlib", "max_chars": args.max_chars,
                                               "train_tokens": ids.numel(), "vocab_size": len(vocab)},
              "updates": args.updates, "warmup": args.warmup, "rows": rows}
    m = result["machine"]
    print(f"char-LM training, tokens/s from the median of {args.updates} updates (Trainer, Adam, clip 5) | "
          f"torch {m['torch']}, {m['threads']} threads, {m['cpu_count']} CPUs | {m['cpu']} | {m['date']}")
    print(table(rows))
    for r in rows:
        if r["refused"]:
            print(f"REFUSED {r['config']}: {r['refused']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 1 if any(r["refused"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
