"""The explicit-memory recipes: the NTM's bit-sequence tasks (`--task ntm-copy | ntm-repeat-copy |
ntm-recall`, an NTM or, with `--model lstm`, a recurrent baseline) and question answering with an
end-to-end memory network (`--task qa-...`).

The data is generated in code from `--data-seed` (rnnlab.datasets.ntm_tasks, rnnlab.datasets.babi).
`rnnlab eval RUN --length N` scores a bit-sequence run at a length (copy, repeat copy) or number
of items (recall) outside its training range, `--repeats R` at more repeats (repeat copy).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rnnlab.datasets.ntm_tasks import REPEAT_SCALE
from rnnlab.memory.model import KINDS, BitSequenceModel
from rnnlab.memory.ntm import CONTROLLERS, MEMORY_INITS
from rnnlab.memory.predict import BitPredictor
from rnnlab.memory.task import BitSequenceTask
from rnnlab.errors import ConfigError
from rnnlab.recipes.common import BatchOptions, TaskOptions
from rnnlab.recipes.recipe import Prepared, Recipe, parameters
from rnnlab.train.config import Options, TrainConfig, option
from rnnlab.train.trainer import seed_everything

NTM_TASKS = {"ntm-copy": "copy", "ntm-repeat-copy": "repeat-copy", "ntm-recall": "recall"}


@dataclass
class NTMOptions(TaskOptions, BatchOptions, TrainConfig):
    """Options of the bit-sequence tasks: the data's ranges, the NTM (or baseline) and training."""
    GROUP: ClassVar[str] = "memory task"
    data_seed: int = option(0, "seed of the generated sequences (separate from --seed)")
    bits: int = option(8, "bits per vector", min=1)
    min_length: int = option(1, "shortest training sequence (recall: fewest items)", min=1)
    max_length: int = option(20, "longest training sequence (recall: most items)", min=1)
    min_repeats: int = option(1, "repeat copy: fewest repeats in training", min=1)
    max_repeats: int = option(10, f"repeat copy: most repeats in training (the count is given as repeats/"
                              f"{REPEAT_SCALE:g})", min=1)
    item_length: int = option(3, "recall: vectors per item", min=1)
    updates_per_epoch: int = option(100, "updates per epoch (each a fresh batch)", min=1)
    eval_sequences: int = option(64, "validation and test sequences", min=1)
    model: str = option("ntm", "ntm, or a cell name for a recurrent baseline (lstm)", choices=KINDS)
    hidden: int = option(100, "controller units (ntm) or units per layer (baseline)", min=1)
    layers: int = option(1, "baseline: stacked layers (an NTM has one controller)", min=1)
    controller: str = option("lstm", "ntm: the controller cell (feedforward or a cell name)", choices=CONTROLLERS)
    memory_slots: int = option(128, "ntm: memory rows N", min=1)
    memory_width: int = option(20, "ntm: memory row width M", min=1)
    read_heads: int = option(1, "ntm: read heads", min=1)
    write_heads: int = option(1, "ntm: write heads", min=1)
    shift_range: int = option(1, "ntm: shifts -k..k", min=0)
    memory_init: str = option("constant", "ntm: M_0 a small constant or learned", choices=MEMORY_INITS)
    head_clip: float = option(20.0, "ntm: clip head pre-activations to ±this (no NaN from runaway controllers)",
                              above=0)

    def check(self) -> None:
        super().check()
        if self.min_length > self.max_length:
            raise ConfigError(f"min_length {self.min_length} > max_length {self.max_length}")
        if self.min_repeats > self.max_repeats:
            raise ConfigError(f"min_repeats {self.min_repeats} > max_repeats {self.max_repeats}")
        if self.task == "ntm-recall" and self.min_length < 2:
            raise ConfigError("ntm-recall: min_length (items) must be >= 2: a query needs an item after it")
        if self.model != "ntm" and self.layers < 1:
            raise ConfigError("layers must be >= 1")
        if self.model == "ntm" and self.layers != 1:
            raise ConfigError("an NTM has one controller layer; --layers applies to the baseline (--model lstm)")
        if self.model == "ntm" and 2 * self.shift_range + 1 > self.memory_slots:
            raise ConfigError(f"shifts -{self.shift_range}..{self.shift_range} need at least "
                              f"{2 * self.shift_range + 1} memory slots, got {self.memory_slots}")


@dataclass
class NTMEvalOptions(Options):
    """`rnnlab eval` on a bit-sequence run: the generalisation test."""
    GROUP: ClassVar[str] = "generalisation"
    length: int | None = option(None, "score fresh sequences of this length (recall: this many items) "
                                "instead of the test split", min=1)
    repeats: int | None = option(None, "repeat copy: score fresh sequences with this many repeats", min=1)
    sequences: int | None = option(None, "sequences to score with --length/--repeats (default: the run's "
                                   "eval_sequences)", min=1)


@dataclass
class NTMPredictOptions(Options):
    GROUP: ClassVar[str] = "prediction"
    repeats: int = option(1, "repeat copy: how many repeats to ask for", min=1)


class NTMRecipe(Recipe):
    """Copy, repeat copy and associative recall of bit vectors."""
    name = "ntm"
    tasks = {"ntm-copy": "ntm-copy", "ntm-repeat-copy": "ntm-repeat-copy", "ntm-recall": "ntm-recall"}
    presets = {
        "ntm-copy": {"epochs": 30, "lr": 1e-3, "clip_norm": 10.0, "batch_size": 16, "eval_batch_size": 32},
        "ntm-repeat-copy": {"epochs": 30, "lr": 1e-3, "clip_norm": 10.0, "batch_size": 16, "eval_batch_size": 32,
                            "max_length": 10},
        "ntm-recall": {"epochs": 30, "lr": 1e-3, "clip_norm": 10.0, "batch_size": 16, "eval_batch_size": 32,
                       "bits": 6, "min_length": 2, "max_length": 6},
    }
    Options = NTMOptions
    PredictOptions = NTMPredictOptions
    EvalOptions = NTMEvalOptions
    inputs, kind = "BITS", "bit-sequence run"
    use = "test longer sequences with: rnnlab eval {run} --length 40"

    def task_of(self, options) -> BitSequenceTask:
        return BitSequenceTask(NTM_TASKS[options.task], bits=options.bits, min_size=options.min_length,
                               max_size=options.max_length, min_repeats=options.min_repeats,
                               max_repeats=options.max_repeats, item_length=options.item_length,
                               batch_size=options.batch_size, updates_per_epoch=options.updates_per_epoch,
                               eval_sequences=options.eval_sequences, eval_batch_size=options.eval_batch_size,
                               data_seed=options.data_seed)

    def prepare(self, options, vocabs=None) -> Prepared:
        task = self.task_of(options)
        seed_everything(options.seed)
        model = BitSequenceModel.build(task.input_width, task.output_width, kind=options.model,
                                       hidden_size=options.hidden, num_layers=options.layers,
                                       memory_slots=options.memory_slots, memory_width=options.memory_width,
                                       read_heads=options.read_heads, write_heads=options.write_heads,
                                       shift_range=options.shift_range, controller=options.controller,
                                       memory_init=options.memory_init, clip=options.head_clip)
        info = {"source": f"generated {task.task} (data seed {options.data_seed})",
                "train_sizes": [options.min_length, options.max_length]}
        return Prepared(model, task, {}, info)

    def describe(self, prepared: Prepared, options) -> str:
        o = options
        what = "items" if o.task == "ntm-recall" else "vectors"
        if o.model == "ntm":
            model = (f"NTM: {o.controller} controller of {o.hidden}, memory {o.memory_slots} x {o.memory_width}, "
                     f"{o.read_heads} read / {o.write_heads} write heads")
        else:
            model = f"{o.layers} x {o.hidden} {o.model}"
        return (f"{o.task}: {o.min_length}-{o.max_length} {what} of {o.bits} bits, {o.batch_size} sequences per "
                f"update\n{model}, {parameters(prepared.model):,} parameters, {o.updates_per_epoch} updates per epoch")

    def format_metrics(self, metrics: dict) -> str:
        return (f"{metrics['bit_errors']:.3f} bits wrong per sequence, {100 * metrics['exact']:.1f}% exact, "
                f"loss {metrics['loss']:.4f}")

    def rebuild(self, model_config, vocabs) -> BitSequenceModel:
        return BitSequenceModel.from_config(model_config)

    def predictor(self, model, vocabs, options) -> BitPredictor:
        return BitPredictor(model, NTM_TASKS[options.task], options.bits)

    def evaluate(self, trained, split, data=None, batch_size=None, options: NTMEvalOptions | None = None):
        if data is not None:
            raise ConfigError("bit-sequence runs generate their data; --data does not apply")
        task = self.task_of(trained.options)
        if batch_size is not None:
            task.eval_batch_size = batch_size
        if options is not None and (options.length is not None or options.repeats is not None):
            if options.repeats is not None and task.task != "repeat-copy":
                raise ConfigError(f"--repeats applies to ntm-repeat-copy runs, not {trained.options.task}")
            metrics = task.evaluate_at(trained.model, options.length, options.repeats, sequences=options.sequences)
            return {**metrics, "length": options.length, "repeats": options.repeats}
        return task.evaluate(trained.model, split)

    def format_evaluation(self, split: str, metrics: dict) -> str:
        at = [f"{k} {metrics[k]}" for k in ("length", "repeats") if metrics.get(k) is not None]
        return f"{', '.join(at) if at else split}: {self.format_metrics(metrics)}"

    def predict(self, trained, inputs, options):
        for text in inputs:
            yield trained.predictor.predict(text, options.repeats) + "\n"


RECIPE = NTMRecipe()
