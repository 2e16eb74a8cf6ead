"""Generation speed in a fresh process, as `rnnlab generate` runs it: characters per second of
`rnnlab.lm.generate` for the demo model (1 layer of 256, 96 characters) against the same model
built from torch.nn modules, each timed in its own new Python process (nothing large has run
before it), 1 thread, the process's CPU time, median of --repeats calls.

    python bench/generation_fresh.py                  # lstm, gru, elman
    python bench/generation_fresh.py --cells lstm --chars 500

Why a fresh process: torch's oneDNN LSTM pays a per-call setup at batch 1 whose cost depends on
the process's history (glibc hands its scratch memory back to the system after every call until
some large free raises the mmap threshold), so bench/rnn_speed.py's warm generation rows — run
after its sgemm measurement — understate what a user of `rnnlab generate` sees. Both models sample
the same function: before timing, the parent steps both through the same 50 tokens and checks
their logits agree to 1e-4 (two LSTM kernels round differently in the last bits, which can flip
an occasional draw of the untrained, near-uniform model; the text each child sampled is compared
and the share of equal characters printed).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHILD = """
import json, statistics, sys, time
sys.path[:0] = [{root!r}, {bench!r}]
import torch
torch.set_num_threads(1)
from rnn_speed import GENERATION, GENERATION_CELLS, TorchLanguageModel
from rnnlab.lm.model import LanguageModel
from rnnlab.lm.sampling import generate
cell, cls = GENERATION_CELLS[{name!r}]
torch.manual_seed(0)
model = LanguageModel.build(GENERATION["vocab"], cell=cell, hidden_size=GENERATION["hidden"], num_layers=1)
if {which!r} == "torch":
    model = TorchLanguageModel(model, cls)
prime = torch.randint(GENERATION["vocab"], (8,))
times, text = [], None
for r in range({repeats}):
    start = time.process_time()
    tokens = list(generate(model, prime, {chars}, seed=r))
    times.append(time.process_time() - start)
    text = text or tokens
print(json.dumps({{"chars_per_s": {chars} / statistics.median(times), "text": text}}))
"""


def child(name: str, which: str, args) -> dict:
    code = CHILD.format(root=str(ROOT), bench=str(ROOT / "bench"), name=name, which=which,
                        repeats=args.repeats, chars=args.chars)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{name} ({which}) failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def same_function(name: str) -> None:
    """Both models of `name` (built as each child builds them) give the same logits along 50 tokens."""
    sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
    import torch
    from rnn_speed import GENERATION, GENERATION_CELLS, TorchLanguageModel
    from rnnlab.lm.model import LanguageModel

    cell, cls = GENERATION_CELLS[name]
    torch.manual_seed(0)
    ours = LanguageModel.build(GENERATION["vocab"], cell=cell, hidden_size=GENERATION["hidden"], num_layers=1).eval()
    theirs = TorchLanguageModel(ours, cls).eval()
    tokens = torch.randint(GENERATION["vocab"], (50, 1))
    with torch.inference_mode():
        a, b = ours(tokens, None)[0], theirs(tokens, None)[0]
    if not torch.allclose(a, b, atol=1e-4, rtol=0):
        raise SystemExit(f"generation {name}: rnnlab and torch.nn give different logits ({(a - b).abs().max():.2e})")


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cells", nargs="+", default=["lstm", "gru", "elman"], choices=["lstm", "gru", "elman"])
    p.add_argument("--chars", type=int, default=300)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "generation_fresh.json")
    args = p.parse_args(argv)
    rows = []
    print("generation in a fresh process (batch 1, 256 hidden, 1 layer, 1 thread, CPU clock): chars/s", flush=True)
    for name in args.cells:
        ours, theirs = child(name, "rnnlab", args), child(name, "torch", args)
        same_function(name)
        row = {"config": name, "rnnlab": ours["chars_per_s"], "torch": theirs["chars_per_s"],
               "vs_torch": ours["chars_per_s"] / theirs["chars_per_s"]}
        row["same_chars"] = sum(a == b for a, b in zip(ours["text"], theirs["text"])) / args.chars
        rows.append(row)
        print(f"  {name:6s} rnnlab {row['rnnlab']:8.0f}  torch.nn {row['torch']:8.0f}  ratio {row['vs_torch']:.2f}x"
              f"  ({100 * row['same_chars']:.0f} % of the sampled characters equal)", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"chars": args.chars, "repeats": args.repeats, "rows": rows}, indent=2) + "\n")
    print(f"wrote {args.out}")
    return rows


if __name__ == "__main__":
    main()
