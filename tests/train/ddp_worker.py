"""What the distributed tests run under torchrun (`python -m torch.distributed.run --standalone
--nproc-per-node 2 tests/train/ddp_worker.py MODE OUT ...`), and the tiny runs they compare with.

    equivalence OUT   a language model and a tagger trained N steps by W processes × batch B
                      (float64, no dropout); process 0 writes their weights to OUT/lm.safetensors and
                      OUT/tagging.safetensors; a run stopped after 3 updates and resumed to 6 writes
                      OUT/resumed.safetensors beside the uninterrupted OUT/uninterrupted.safetensors
    die ARGS...       `rnnlab ARGS` in which process 1 is killed (SIGKILL) on its DIE_AT-th update
    all OUT ARGS...   equivalence OUT, then die ARGS (one start of torchrun and of the processes for both)
"""
from __future__ import annotations

import os
import signal
import sys

import torch

from rnnlab.lm import LanguageModel, LanguageModelTask
from rnnlab.recipes.tagging import RECIPE as TAGGING
from rnnlab.train import TrainConfig, Trainer, seed_everything
from rnnlab.train.checkpoint import write_tensors

LM_STEPS, TAGGING_STEPS = 6, 7


def lm_setup(batch_size: int):
    """A 1-layer LSTM language model on 1,200 random tokens, truncated BPTT k1 = 5, k2 = 8 (so one
    update runs the model twice: the split where the next window starts)."""
    ids = torch.randint(0, 11, (1200,), generator=torch.Generator().manual_seed(0))
    seed_everything(0)
    model = LanguageModel.build(11, cell="lstm", hidden_size=8, num_layers=1, embedding_size=6, dropout=0.0)
    task = LanguageModelTask({"train": ids, "valid": ids[:300]}, level="char", batch_size=batch_size, bptt=5,
                             bptt_back=8, eval_batch_size=2)
    return model, task


def tagging_setup(batch_size: int):
    """A tagger with intents on 30 generated flight sentences: batches of 2B sentences of different
    lengths, and a short last batch (30 = 2 × 12 + 6) split 3 / 3 between two processes."""
    options = TAGGING.options({"task": "tagging", "train_examples": 30, "hidden": 8, "embedding": 8,
                               "batch_size": batch_size, "epochs": 2, "device": "cpu", "dropout": 0.0})
    prepared = TAGGING.prepare(options)
    return prepared.model, prepared.task


def config(steps: int, **kw) -> TrainConfig:
    return TrainConfig(epochs=kw.pop("epochs", 2), max_steps=steps, device="cpu", log_every=1, **kw)


def train(setup, batch_size: int, steps: int, run_dir=None, resume: bool = False) -> dict:
    model, task = setup(batch_size)
    trainer = Trainer(model, task, config(steps), run_dir, progress=False, tensorboard=False)
    if resume:
        trainer.restore()
    trainer.fit()
    return model.state_dict()


def equivalence(out: str) -> None:
    from rnnlab.train import distributed
    torch.set_default_dtype(torch.float64)
    rank = distributed.setup("cpu").rank
    try:
        _equivalence(out, rank)
    finally:
        torch.set_default_dtype(torch.float32)


def _equivalence(out: str, rank: int) -> None:
    results = {
        "lm": train(lm_setup, 2, LM_STEPS),
        "tagging": train(tagging_setup, 6, TAGGING_STEPS),
        "uninterrupted": train(lm_setup, 2, LM_STEPS, os.path.join(out, "a")),
    }
    train(lm_setup, 2, 3, os.path.join(out, "b"))
    results["resumed"] = train(lm_setup, 2, LM_STEPS, os.path.join(out, "b"), resume=True)
    if rank == 0:
        for name, weights in results.items():
            write_tensors(os.path.join(out, f"{name}.safetensors"), weights)
        open(os.path.join(out, "done"), "w").close()


def die(argv: list[str]) -> int:
    """Process 1 dies (SIGKILL: no goodbye to anyone) on its DIE_AT-th update."""
    from rnnlab.cli.main import main
    at, calls = int(os.environ["DIE_AT"]), [0]
    step = LanguageModelTask.train_step

    def train_step(self, *args):
        calls[0] += 1
        if os.environ["RANK"] == "1" and calls[0] == at:
            os.kill(os.getpid(), signal.SIGKILL)
        return step(self, *args)

    LanguageModelTask.train_step = train_step
    return main(argv)


if __name__ == "__main__":
    torch.set_num_threads(1)
    if sys.argv[1] == "equivalence":
        equivalence(sys.argv[2])
    elif sys.argv[1] == "die":
        sys.exit(die(sys.argv[2:]))
    elif sys.argv[1] == "all":
        equivalence(sys.argv[2])
        sys.exit(die(sys.argv[3:]))
    else:
        raise SystemExit(f"unknown mode {sys.argv[1]!r}")
