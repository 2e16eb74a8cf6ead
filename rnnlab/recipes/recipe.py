"""The recipe interface: everything the command line knows about a kind of run.

A recipe is an instance of a `Recipe` subclass, registered with `rnnlab.recipes.register`. The
class declares

    name            the recipe's name ("language-model")
    tasks           {task name: the preset it starts from, or None} — the `--task` values it serves
    presets         {preset name: options} — named sets of options (`--preset NAME`)
    Options         its options: a dataclass of `option(...)` fields (rnnlab.train.config),
                    composed from the groups of rnnlab.recipes.common and TrainConfig. CLI flags,
                    TOML keys, presets and config.json all come from it.
    vocabs          names of the vocabularies it saves beside the weights (required_vocabs: those
                    a run cannot load without)
    command         the CLI command that uses a trained run ("generate", "tag", ...; None: only
                    `rnnlab predict`), with command_help; inputs: the metavar of its raw inputs
                    (read from the arguments or stdin), or None when it takes none (generate)
    PredictOptions  that command's options (a second dataclass: --beam, --format, ...)
    shared_commands other recipes' commands that this recipe's runs answer too: `rnnlab classify
                    RUN x.wav` on a spoken-digits run, `rnnlab classify RUN "text"` on a
                    tree-sentiment run; the run decides which recipe serves it
    EvalOptions     `rnnlab eval RUN`'s extra flags for its runs (a dataclass, or None: none); when
                    set, `evaluate` receives them as `options`
    kind            what its runs are called in errors ("language model", "tagging run")
    use             how to use a finished run, with {run} ("sample with: rnnlab generate {run}")

and implements

    prepare(options, vocabs=None) -> Prepared      data, vocabularies, model, trainer task
    describe(prepared, options) -> str             a line or two for the start of a run
    format_metrics(metrics) -> str                 a metrics dict as one line
    rebuild(model_config, vocabs) -> nn.Module     the untrained model of a saved config
    predict(trained, inputs, options) -> Iterable[str]   text chunks, printed as they come

and may override

    predictor(model, vocabs, options)              what `Trained.predictor` holds (default None)
    vocab_sizes(model_config) -> {vocab: size}     the size the model expects of each saved
                                                   vocabulary (checked when a run is loaded)
    evaluate(trained, split, data=None, batch_size=None) -> metrics
                                                   (default: rebuild the task on the run's data)
    format_evaluation(split, metrics) -> str       `rnnlab eval`'s line
    explorer(trained, request) -> Explorer         `rnnlab explore` (default: not supported)

The base class supplies the rest: `options(given)` resolves options (defaults < the task's
preset < `given`) into a validated `Options`, `saved_options(config_options)` reads a run's
config.json (options added since take their defaults; options it does not declare are
ignored), `load(run, weights)` makes the common `Trained`.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, fields, replace
from typing import Any, ClassVar, Iterable, NamedTuple

from torch import nn

from rnnlab.data.vocab import Vocabulary
from rnnlab.errors import CheckpointError, ConfigError, DataNotFoundError
from rnnlab.recipes.common import load_vocabs
from rnnlab.recipes.options import check_layer, specs
from rnnlab.recipes.run_dir import RunDir
from rnnlab.train.checkpoint import load_weights
from rnnlab.train.config import Options, TrainConfig


class Prepared(NamedTuple):
    """What a training run needs: the model, the trainer's task, vocabularies, where the data came from."""
    model: nn.Module
    task: Any
    vocabs: dict[str, Vocabulary]
    data_info: dict


@dataclass
class Trained:
    """A run directory, loaded: the model (eval mode), what predicts with it, its vocabularies,
    its options, its whole config.json and the directory."""
    recipe: "Recipe"
    model: nn.Module
    predictor: Any
    vocabs: dict[str, Vocabulary]
    options: Any
    config: dict
    run: RunDir


@dataclass
class ExploreRequest:
    """What `rnnlab explore` asks to see: a text file, lines of a generated dataset (`flag` is how
    the user spelled that option), or by default the run's validation data."""
    text: str | None = None
    dataset: str | None = None
    flag: str = "--dataset"
    examples: int = 20
    max_tokens: int = 1000


@dataclass
class NoPredictOptions(Options):
    """PredictOptions of a recipe whose command has no flags of its own."""
    GROUP: ClassVar[str] = "prediction"


class Recipe(ABC):
    """Base of every recipe: see this module's docstring for what a subclass declares and implements."""
    name: ClassVar[str]
    tasks: ClassVar[dict[str, str | None]]
    presets: ClassVar[dict[str, dict[str, Any]]] = {}
    Options: ClassVar[type[TrainConfig]]
    PredictOptions: ClassVar[type[Options]] = NoPredictOptions
    EvalOptions: ClassVar[type[Options] | None] = None
    vocabs: ClassVar[tuple[str, ...]] = ()
    command: ClassVar[str | None] = None
    command_help: ClassVar[str] = ""
    shared_commands: ClassVar[tuple[str, ...]] = ()
    inputs: ClassVar[str | None] = "INPUT"
    kind: ClassVar[str] = "run"
    use: ClassVar[str] = ""

    @property
    def required_vocabs(self) -> tuple[str, ...]:
        return self.vocabs

    # --- options -------------------------------------------------------------------------------

    def defaults(self, task: str) -> dict[str, Any]:
        """The options of `task` before anything is given: the fields' defaults and its preset."""
        if task not in self.tasks:
            raise ConfigError(f"the {self.name} recipe has no task {task!r}; its tasks: {', '.join(self.tasks)}")
        out = {name: opt.default for name, opt in specs(self.Options).items()}
        preset = self.tasks[task]
        if preset is not None:
            out.update(check_layer(self.Options, self.presets[preset], f"preset {preset}", task))
        out["task"] = task
        return out

    def options(self, given: dict[str, Any]) -> Any:
        """Validated options: the defaults < the task's preset < `given` (which names the task, or
        the recipe's first is meant)."""
        task = given.get("task", next(iter(self.tasks)))
        return self.Options(**{**self.defaults(task), **check_layer(self.Options, given, "options", task)})

    def saved_options(self, saved: dict[str, Any], where: Any = None) -> Any:
        """The options of a run's config.json, read leniently: what this version added takes its
        default, and what an older version stored but this recipe does not declare is ignored.
        With `where` (the config.json read), a value of the wrong type or range is a
        CheckpointError naming that file."""
        known = {f.name for f in fields(self.Options)}
        try:
            return self.Options(**{k: v for k, v in saved.items() if k in known})
        except ConfigError as e:
            if where is None:
                raise
            raise CheckpointError(f"{where} is corrupt: option {e}") from None

    def train_config(self, options) -> TrainConfig:
        return TrainConfig.of(options)

    # --- training ------------------------------------------------------------------------------

    @abstractmethod
    def prepare(self, options, vocabs: dict[str, Vocabulary] | None = None) -> Prepared:
        """Data, vocabularies (the run's own when given: resume and eval pass them), model, task."""

    @abstractmethod
    def describe(self, prepared: Prepared, options) -> str: ...

    @abstractmethod
    def format_metrics(self, metrics: dict) -> str: ...

    # --- trained runs --------------------------------------------------------------------------

    @abstractmethod
    def rebuild(self, model_config: dict, vocabs: dict[str, Vocabulary]) -> nn.Module:
        """The untrained model of a run's saved model config (`X.from_config`)."""

    def predictor(self, model: nn.Module, vocabs: dict[str, Vocabulary], options) -> Any:
        return None

    def vocab_sizes(self, model_config: dict) -> dict[str, int]:
        """{vocabulary name: the number of entries the model was built for} (default: none)."""
        return {}

    def check_vocabs(self, run: RunDir, model_config: dict, vocabs: dict[str, Vocabulary]) -> None:
        """A vocabulary that does not fit the model (one token short: ids it cannot decode) is an
        error when the run is loaded, not midway through printing a sample."""
        for name, size in self.vocab_sizes(model_config).items():
            if name in vocabs and isinstance(size, int) and len(vocabs[name]) != size:
                raise CheckpointError(f"{run.vocab_file(name)} has {len(vocabs[name])} entries but the model in "
                                      f"{run.path} was built for {size}: the vocabulary file does not belong to it")

    def load(self, run: RunDir, weights: str = "best") -> Trained:
        """A run directory's trained model (eval mode) and everything that goes with it."""
        config = run.load_config()
        task = config["options"].get("task")
        if task not in self.tasks:
            raise ConfigError(f"{run.path} is a {task!r} run, not a {self.kind}")
        options = self.saved_options(config["options"], run.config_path)
        vocabs = load_vocabs(run, self.vocabs, required=self.required_vocabs)
        self.check_vocabs(run, config["model"], vocabs)
        model = self.rebuild(config["model"], vocabs)
        load_weights(model, run.weights(weights))
        model.eval()
        return Trained(self, model, self.predictor(model, vocabs, options), vocabs, options, config, run)

    def evaluate(self, trained: Trained, split: str, data: str | None = None,
                 batch_size: int | None = None) -> dict[str, float]:
        """Metrics on a split of the run's data (or of `data`, a directory in the same format):
        the task is rebuilt with the run's vocabularies and scores the trained model."""
        changes: dict[str, Any] = {}
        if data is not None:
            changes["data"] = str(data)
            if "dataset" in {f.name for f in fields(trained.options)}:
                changes["dataset"] = None
        if batch_size is not None:
            changes["eval_batch_size"] = batch_size
        prepared = self.prepare(replace(trained.options, **changes), vocabs=trained.vocabs)
        if prepared.model.config() != trained.config["model"]:
            raise CheckpointError(f"{trained.run.path}: the data's vocabularies no longer fit the saved model")
        if split not in prepared.task.splits:
            raise DataNotFoundError(f"the data has no {split!r} split")
        return prepared.task.evaluate(trained.model, split)

    def format_evaluation(self, split: str, metrics: dict) -> str:
        return f"{split}: {self.format_metrics(metrics)}"

    @abstractmethod
    def predict(self, trained: Trained, inputs: list[str], options) -> Iterable[str]:
        """Outputs for raw inputs, as text chunks (each line ends with its newline)."""

    def explorer(self, trained: Trained, request: ExploreRequest):
        raise ConfigError(f"rnnlab explore supports language models and taggers; {trained.run.path} is a "
                          f"{trained.options.task!r} run")

    def can_explore(self) -> bool:
        return type(self).explorer is not Recipe.explorer


def parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
