"""How long DDP's gradient all-reduce of P float32 values takes between the processes torchrun
starts (gloo on CPUs, NCCL on GPUs): the communication half of docs/distributed.md's scaling model.

    torchrun --standalone --nproc-per-node 2 bench/allreduce_time.py --params 887201
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.distributed as dist

from rnnlab.train import distributed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--params", type=int, default=887_201)
    p.add_argument("--repeat", type=int, default=30)
    p.add_argument("--device", default="auto")
    args = p.parse_args()
    ctx = distributed.setup(args.device)
    device = torch.device("cuda", torch.cuda.current_device()) if ctx.backend == "nccl" else torch.device("cpu")
    grad = torch.randn(args.params, device=device)
    times = []
    for _ in range(args.repeat + 3):
        dist.barrier()
        t0 = time.perf_counter()
        dist.all_reduce(grad)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    times = times[3:]
    if ctx.is_main:
        mb = 4 * args.params / 1e6
        print(f"{ctx.world_size} processes ({ctx.backend}): all-reduce of {args.params:,} float32 ({mb:.2f} MB): "
              f"median {1e3 * statistics.median(times):.2f} ms, min {1e3 * min(times):.2f} ms over {args.repeat}")
    distributed.shutdown()


if __name__ == "__main__":
    main()
