"""The delay-network recipe: NARX networks (and Elman / LSTM baselines) on generated signals.

    rnnlab train --task latching --cell narx --output-delays 6 --length 40
    rnnlab train --task narx-plant --cell narx --feedback parallel
    rnnlab eval RUN --split test-random
    rnnlab predict RUN "0.5 -1 0.3 ..."          # a signal in, the model's answer out

`latching` (rnnlab/datasets/latching.py): the class of the first `prefix` inputs, asked for after
`length` steps of noise. `narx-plant` (rnnlab/datasets/plant.py): identify Narendra &
Parthasarathy's plant from a noisy recording driven by a random input; validation is another
random input, "test" Narendra's sine input and "test-random" a third random input, all scored
one-step-ahead and free-running against the noise-free output (rnnlab/sysid/task.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Iterator

import torch

from rnnlab.cells.registry import CELLS
from rnnlab.datasets.latching import latching_data
from rnnlab.datasets.plant import plant_response, plant_signals
from rnnlab.errors import ConfigError, DataError
from rnnlab.recipes.common import BatchOptions, TaskOptions
from rnnlab.recipes.recipe import Prepared, Recipe, parameters
from rnnlab.sysid.model import SignalModel
from rnnlab.sysid.task import FEEDBACK, LatchingTask, PlantTask
from rnnlab.train.config import TrainConfig, option
from rnnlab.train.trainer import seed_everything


@dataclass
class NarxOptions(TaskOptions, BatchOptions, TrainConfig):
    """Options of `--task latching` and `--task narx-plant`."""
    GROUP: ClassVar[str] = "delay networks"
    data_seed: int = option(0, "seed of the generated data (separate from --seed)")
    cell: str = option("narx", "narx, or a recurrent cell with a linear read-out (see `rnnlab cells`)",
                       choices=lambda: tuple(CELLS))
    hidden: int = option(8, "hidden units (NARX: its hidden layer; 0 = none)", min=0)
    layers: int = option(1, "recurrent layers (not NARX)", min=1)
    input_delays: int = option(2, "NARX: past inputs in the delay line (K_x)", min=0)
    output_delays: int = option(2, "NARX: past outputs in the delay line (K_y)", min=0)
    hidden_recurrence: bool = option(False, "NARX: also feed back the hidden layer")
    feedback: str = option("series-parallel", "narx-plant: the NARX delay line gets the measured outputs, its own, "
                           "or a schedule from one to the other", choices=FEEDBACK)
    length: int = option(20, "latching: noise steps after the deciding inputs (T)", min=0)
    prefix: int = option(3, "latching: deciding inputs (odd)", min=1)
    noise: float = option(0.2, "latching: noise amplitude; narx-plant: measurement noise std", min=0)
    examples: int = option(512, "latching: training sequences", min=8)
    signal_steps: int = option(3000, "narx-plant: steps of the training recording", min=100)
    window: int = option(50, "narx-plant: steps per training window", min=2)

    def check(self) -> None:
        super().check()
        if self.cell != "narx" and self.hidden < 1:
            raise ConfigError(f"--hidden must be >= 1 for {self.cell}")
        if self.task == "latching" and self.prefix % 2 == 0:
            raise ConfigError(f"--prefix must be odd (the class is a majority), got {self.prefix}")
        if self.task == "narx-plant" and self.cell == "narx" and self.output_delays < 1:
            raise ConfigError("narx-plant: a NARX model needs --output-delays >= 1")


def parse_signal(text: str) -> torch.Tensor:
    try:
        values = [float(v) for v in text.replace(",", " ").split()]
    except ValueError:
        raise DataError(f"a signal is numbers separated by spaces, got {text[:40]!r}") from None
    if not values:
        raise DataError("empty signal")
    return torch.tensor(values).view(-1, 1, 1)


class NarxRecipe(Recipe):
    """Signals through delay networks."""
    name = "narx"
    tasks = {"latching": "latching", "narx-plant": "narx-plant"}
    presets = {"latching": {"task": "latching", "epochs": 30, "lr": 1e-2, "batch_size": 32,
                            "eval_batch_size": 512, "log_every": 20},
               "narx-plant": {"task": "narx-plant", "epochs": 20, "lr": 5e-3, "batch_size": 16, "hidden": 16,
                              "noise": 0.05, "log_every": 20}}
    Options = NarxOptions
    kind = "delay-network run"
    use = 'predict with: rnnlab predict {run} "0.5 -1 0.3 ..." (a signal: one number per step)'

    def prepare(self, options, vocabs=None) -> Prepared:
        narx = options.cell == "narx"
        if options.task == "latching":
            make = lambda n, k: latching_data(n, options.length, prefix=options.prefix, noise=options.noise,
                                              seed=3 * options.data_seed + k)
            splits = {"train": make(options.examples, 0), "valid": make(256, 1), "test": make(512, 2)}
            task = LatchingTask(splits, batch_size=options.batch_size, seed=options.seed)
            info = {"source": "built-in:latching", "examples": {s: v[1].shape[0] for s, v in splits.items()}}
            build = dict(narx_outputs=1, output_activation="tanh", head=True)
        else:
            seed = 4 * options.data_seed
            splits = {"train": plant_signals(options.signal_steps, "random", noise=options.noise, seed=seed),
                      "valid": plant_signals(1000, "random", noise=options.noise, seed=seed + 1),
                      "test": plant_signals(800, "sine", noise=options.noise, seed=seed + 2),
                      "test-random": plant_signals(1000, "random", noise=options.noise, seed=seed + 3)}
            task = PlantTask(splits, window=min(options.window, options.signal_steps), batch_size=options.batch_size,
                             epochs=options.epochs, feedback=options.feedback, seed=options.seed)
            info = {"source": "built-in:narendra-plant", "steps": {s: v.x.shape[0] for s, v in splits.items()}}
            build = dict(teacher=narx, head=not narx)
        seed_everything(options.seed)
        model = SignalModel.build(1, 1, model=options.cell, hidden_size=options.hidden, num_layers=options.layers,
                                  input_delays=options.input_delays, output_delays=options.output_delays,
                                  hidden_recurrence=options.hidden_recurrence and narx, **build)
        return Prepared(model, task, {}, info)

    def describe(self, prepared: Prepared, options) -> str:
        what = (f"latching: {options.prefix} deciding inputs then {options.length} noise steps"
                if options.task == "latching" else f"Narendra-Parthasarathy plant, {options.feedback} training")
        cell = (f"NARX (K_x {options.input_delays}, K_y {options.output_delays}, hidden {options.hidden}"
                f"{', hidden recurrence' if options.hidden_recurrence else ''})" if options.cell == "narx"
                else f"{options.layers} x {options.hidden} {options.cell}")
        return f"{what}\n{cell}, {parameters(prepared.model):,} parameters, {prepared.task.num_batches()} updates per epoch"

    def format_metrics(self, metrics: dict) -> str:
        if "rmse_free" in metrics:
            return f"RMSE one-step {metrics['rmse_one']:.4f}, free-run {metrics['rmse_free']:.4f}"
        return f"accuracy {100 * metrics['accuracy']:.2f}%, loss {metrics['loss']:.4f}"

    def rebuild(self, model_config, vocabs) -> SignalModel:
        return SignalModel.from_config(model_config)

    def predict(self, trained, inputs: list[str], options) -> Iterator[str]:
        """latching: the class (0/1) and its probability; narx-plant: the free-run output, one per step."""
        for text in inputs:
            with torch.no_grad():
                out = trained.model(parse_signal(text))[:, 0, 0]
            if trained.options.task == "latching":
                p = float(torch.sigmoid(out[-1]))
                yield f"{int(p > 0.5)}\t{max(p, 1 - p):.3f}\n"
            else:
                yield " ".join(f"{v:.4f}" for v in out.tolist()) + "\n"

    def explorer(self, trained, request):
        """Generated test signals (latching: sequences of each class; narx-plant: the held-out sine
        and random inputs, cut to --max-tokens steps), run free; every unit over time beside the
        input, output and target (rnnlab/explore/record_signal.py). Type numbers on the page to add
        a signal: its target is the task's own answer (the plant's noise-free response; the class of
        the first `prefix` inputs)."""
        from rnnlab.data.vocab import Vocabulary
        from rnnlab.explore.record_signal import record_signal
        from rnnlab.explore.service import Explorer
        if request.text or request.dataset:
            raise ConfigError(f"{request.flag if request.dataset else '--text'} does not apply to a delay-network "
                              "run: it shows generated test signals (type a signal, numbers, on the page instead)")
        o, cut = trained.options, request.max_tokens
        if o.task == "latching":
            x, labels = latching_data(max(2, request.examples), o.length, prefix=o.prefix, noise=o.noise,
                                      seed=3 * o.data_seed + 2)  # the test split's generator
            picked = [(f"class {int(labels[b])} #{b + 1}", (x[:cut, b], torch.full((min(cut, x.shape[0]), 1),
                                                                                    float(labels[b]))))
                      for b in range(min(request.examples, x.shape[1]))]
            source = f"generated latching sequences ({o.prefix} deciding inputs, {o.length} noise steps)"
        else:
            seed = 4 * o.data_seed
            signals = {"test (sine)": plant_signals(800, "sine", noise=o.noise, seed=seed + 2),
                       "test-random": plant_signals(1000, "random", noise=o.noise, seed=seed + 3)}
            picked = [(name, (s.x[:cut].view(-1, 1), s.clean[:cut].view(-1, 1))) for name, s in signals.items()]
            picked = picked[:max(1, request.examples)]
            source = "held-out plant signals (target: the noise-free output)"

        def target(x):  # a typed signal's answer, by the task's own definition (every recording has one)
            if o.task == "latching":
                return torch.full((len(x), 1), float(x[:o.prefix].sum() > 0))
            return plant_response(x)

        def record(items: list) -> list:
            out = []
            for item in items:
                if not isinstance(item, tuple):  # typed on the page: numbers
                    x = parse_signal(" ".join(item)).view(-1, 1)
                    item = (x, target(x))
                out.append(record_signal(trained.model, *item))
            return out
        m = trained.config["model"]
        cell = (f"NARX (K_x {m['input_delays']}, K_y {m['output_delays']}, hidden {m['hidden_size']})"
                if m["model"] == "narx" else f"{m['num_layers']} x {m['hidden_size']} {m['model']}")
        about = {"run": str(trained.run.path), "source": source, "model": cell}
        return Explorer(trained.model, Vocabulary(["<unk>"], unk="<unk>"), "word", picked, hypotheses={},
                        about=about, recorder=record, kind="signal")


RECIPE = NarxRecipe()
