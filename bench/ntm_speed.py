"""Training-step speed of the NTM on the copy task, three implementations of the same step in one
process, timed round-robin so that background load on a shared machine hits them alike:

    before     the eager step with the composite addressing (addressing.address: ~25 autograd nodes)
    fused      the eager step with the addressing as one autograd node (address_function.py), the default
    compiled   `NTMCell.compile_step()`: torch.compile (inductor) of the step, forward and backward

One update = forward over a copy batch, the bits' cross-entropy, backward, Adam step — exactly
the example's training step (examples/ntm_copy.py: batch 16, 8 bits, LSTM controller of 100,
memory 128 x 20, 1 read + 1 write head). The lengths are a fixed draw from 1-20, the training
range, the same for both. Reported: updates per second (wall and, with one thread, CPU time),
the one-off compile time, and the check that the compiled step is the eager step: in float64,
loss and every parameter's gradient of the compiled model against the eager one (max abs diff).

    python bench/ntm_speed.py                       # ~5 min on a loaded 2-core machine (compiles twice)
    python bench/ntm_speed.py --updates 20 --out bench/results/ntm_speed.json
"""
from __future__ import annotations

import argparse
import functools
import json
import time

import torch

from rnnlab.datasets.ntm_tasks import make_batch
from rnnlab.memory.addressing import address
from rnnlab.memory.model import BitSequenceModel
from rnnlab.memory.task import score


def build(dtype=torch.float32, compiled=False, composite=False, **sizes):
    torch.manual_seed(0)
    model = BitSequenceModel.build(9, 8, kind="ntm", **sizes).to(dtype)
    cell = model.encoder.cell
    if compiled:
        cell.compile_step()
    if composite:  # the step as it was: the composite addressing
        cell._advance = functools.partial(cell._eager_advance, address=address)
    return model


def batches(lengths, batch, dtype=torch.float32):
    g = torch.Generator().manual_seed(0)
    out = []
    for L in lengths:
        b = make_batch("copy", batch, L, bits=8, generator=g)
        out.append(type(b)(b.inputs.to(dtype), b.targets.to(dtype), b.mask))
    return out


def update(model, opt, batch):
    opt.zero_grad()
    loss, _, _ = score(model(batch.inputs), batch)
    loss.backward()
    opt.step()
    return loss


def check_equal(sizes) -> dict:
    """float64: the compiled step's loss and gradients against the step as it was (same weights)."""
    eager, compiled = build(torch.float64, composite=True, **sizes), build(torch.float64, compiled=True, **sizes)
    compiled.load_state_dict(eager.state_dict())
    diffs = {}
    for k, batch in enumerate(batches([3, 7, 12], 4, torch.float64)):
        losses = []
        for model in (eager, compiled):
            model.zero_grad()
            loss, _, _ = score(model(batch.inputs), batch)
            loss.backward()
            losses.append(loss.detach())
        grad = max(float((p.grad - q.grad).abs().max()) for p, q in zip(eager.parameters(), compiled.parameters()))
        diffs[f"batch{k}"] = {"loss": float((losses[0] - losses[1]).abs()), "grad": grad}
    worst = max(max(d.values()) for d in diffs.values())
    return {"max_abs_diff": worst, "per_batch": diffs, "equal_1e-10": worst <= 1e-10}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--updates", type=int, default=20, help="timed updates per implementation")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--no-check", action="store_true", help="skip the float64 equality check (one compile less)")
    p.add_argument("--out", default=None)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    sizes = dict(hidden_size=100, memory_slots=128, memory_width=20)
    lengths = [int(v) for v in torch.randint(1, 21, (args.updates,), generator=torch.Generator().manual_seed(1))]
    data = batches(lengths, args.batch)
    models = {"before": build(composite=True, **sizes), "fused": build(**sizes), "compiled": build(compiled=True, **sizes)}
    opts = {k: torch.optim.Adam(m.parameters(), 1e-4) for k, m in models.items()}
    t0 = time.perf_counter()
    update(models["compiled"], opts["compiled"], data[0])
    compile_s = time.perf_counter() - t0
    update(models["before"], opts["before"], data[0])
    update(models["fused"], opts["fused"], data[0])
    wall = {k: 0.0 for k in models}
    cpu = {k: 0.0 for k in models}
    for batch in data:  # round-robin: both see the same load
        for k in models:
            w, c = time.perf_counter(), time.process_time()
            update(models[k], opts[k], batch)
            wall[k] += time.perf_counter() - w
            cpu[k] += time.process_time() - c
    steps = len(data)
    result = {"batch": args.batch, "threads": args.threads, "updates": steps, "mean_length": sum(lengths) / steps,
              "compile_s": round(compile_s, 1),
              "updates_per_s_wall": {k: round(steps / v, 2) for k, v in wall.items()},
              "updates_per_s_cpu": {k: round(steps / v, 2) for k, v in cpu.items()},
              "speedup_cpu_vs_before": {k: round(cpu["before"] / cpu[k], 2) for k in models},
              "speedup_wall_vs_before": {k: round(wall["before"] / wall[k], 2) for k in models}}
    print(json.dumps(result), flush=True)
    if not args.no_check:
        result["float64_check"] = check_equal(sizes)
        print(json.dumps(result["float64_check"]), flush=True)
    result["torch"] = torch.__version__
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
