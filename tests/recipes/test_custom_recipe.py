"""The extension point: a recipe defined entirely in this file — its task (which letter is the
majority of a string of a's and b's), data generated here, a model made of rnnlab pieces, its
options and its own command — is registered and then trains, resumes, evaluates and predicts
through the CLI's main(), with no change to rnnlab.cli."""
from __future__ import annotations

import json
import random
from dataclasses import dataclass, fields
from typing import ClassVar

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import rnnlab
from rnnlab.cells.registry import make_cell
from rnnlab.cli.main import main
from rnnlab.recipes import Prepared, Recipe, register, unregister
from rnnlab.recipes.common import BatchOptions, TaskOptions
from rnnlab.train import Options, StepOutput, TrainConfig, option, seed_everything

SYMBOLS = "ab"


def majority_data(n: int, length: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    strings = ["".join(rng.choice(SYMBOLS) for _ in range(length)) for _ in range(n)]
    return [(s, max(SYMBOLS, key=s.count)) for s in strings]


class MajorityModel(nn.Module):
    """(T, B) symbol ids → (B, 2) logits: embedding → one GRU layer (rnnlab.Recurrent) → linear."""

    def __init__(self, hidden: int):
        super().__init__()
        self.hidden = hidden
        self.embed = nn.Embedding(len(SYMBOLS), 8)
        self.rnn = rnnlab.Recurrent(make_cell("gru", 8, hidden))
        self.out = nn.Linear(hidden, len(SYMBOLS))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.rnn(self.embed(ids))
        return self.out(outputs[-1])

    def config(self) -> dict:
        return {"hidden": self.hidden}


def encode(strings: list[str]) -> torch.Tensor:
    return torch.tensor([[SYMBOLS.index(c) for c in s] for s in strings]).T  # (T, B)


class MajorityTask:
    """The trainer's task: batches in an order fixed by (seed, epoch), so a resume is exact."""
    metric = "error"

    def __init__(self, splits: dict, batch_size: int, seed: int):
        self.splits, self.batch_size, self.seed = splits, batch_size, seed

    def num_batches(self) -> int:
        return len(self.splits["train"]) // self.batch_size

    def train_step(self, model, epoch, index, carry):
        order = torch.randperm(len(self.splits["train"]), generator=torch.Generator().manual_seed(self.seed * 1000 + epoch))
        rows = [self.splits["train"][i] for i in order[index * self.batch_size:(index + 1) * self.batch_size]]
        logits = model(encode([s for s, _ in rows]))
        loss = F.cross_entropy(logits, torch.tensor([SYMBOLS.index(y) for _, y in rows]))
        return StepOutput(loss, len(rows))

    @torch.no_grad()
    def evaluate(self, model, split: str) -> dict:
        strings, labels = zip(*self.splits[split])
        logits = model(encode(list(strings)))
        target = torch.tensor([SYMBOLS.index(y) for y in labels])
        accuracy = float((logits.argmax(-1) == target).double().mean())
        return {"loss": float(F.cross_entropy(logits, target)), "accuracy": accuracy, "error": 1 - accuracy}


@dataclass
class MajorityOptions(TaskOptions, BatchOptions, TrainConfig):
    GROUP: ClassVar[str] = "majority"
    length: int = option(5, "symbols per string (odd: there is always a majority)", min=1)
    strings: int = option(256, "training strings", min=8)
    hidden_units: int = option(16, "GRU units", min=1)

    def check(self) -> None:
        super().check()
        if self.length % 2 == 0:
            raise rnnlab.errors.ConfigError(f"length must be odd, got {self.length}")


@dataclass
class MajorityPrintOptions(Options):
    GROUP: ClassVar[str] = "output"
    probability: bool = option(False, "print the probability of the answer too")


class MajorityRecipe(Recipe):
    name = "test-majority"
    tasks = {"my-task": "my-task"}
    presets = {"my-task": {"epochs": 3, "lr": 0.02, "batch_size": 16, "eval_batch_size": 64}}
    Options = MajorityOptions
    PredictOptions = MajorityPrintOptions
    command, inputs, kind = "majority", "STRING", "majority run"
    command_help = "the majority letter of strings of a's and b's"
    use = "ask with: rnnlab majority {run} abbab"

    def prepare(self, options, vocabs=None) -> Prepared:
        data = majority_data(options.strings + 128, options.length, seed=0)
        splits = {"train": data[:options.strings], "valid": data[options.strings:options.strings + 64],
                  "test": data[options.strings + 64:]}
        seed_everything(options.seed)
        model = MajorityModel(options.hidden_units)
        return Prepared(model, MajorityTask(splits, options.batch_size, options.seed), {}, {"strings": options.strings})

    def describe(self, prepared, options) -> str:
        return f"majority of {options.length} letters, {prepared.task.num_batches()} updates per epoch"

    def format_metrics(self, metrics: dict) -> str:
        return f"accuracy {100 * metrics['accuracy']:.1f}%"

    def rebuild(self, model_config, vocabs) -> MajorityModel:
        return MajorityModel(model_config["hidden"])

    def predict(self, trained, inputs, options):
        for text in inputs:
            probs = torch.softmax(trained.model(encode([text])), -1)[0]
            best = int(probs.argmax())
            yield SYMBOLS[best] + (f"\t{float(probs[best]):.3f}" if options.probability else "") + "\n"


@pytest.fixture
def recipe():
    registered = register(MajorityRecipe())
    yield registered
    unregister(registered.name)


def cli(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def rows(run) -> list:
    return [(r["kind"], r["step"], r["loss"]) for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())]


def test_help_lists_the_recipes_own_options(recipe, capsys):
    with pytest.raises(SystemExit) as exit:
        main(["train", "--task", "my-task", "-h"])
    assert exit.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--length", "--strings", "--hidden-units", "--lr", "--batch-size", "--epochs"):
        assert flag in text
    for flag in ("--bptt", "--cell", "--data", "--beam"):  # other recipes' options
        assert flag not in text
    assert "(default 0.02)" in text  # the task's preset is what -h shows as the default


def test_train_resume_eval_predict(recipe, tmp_path, capsys):
    args = ["train", "--task", "my-task", "--log-every", "1", "--no-progress"]
    code, _, err = cli(capsys, *args, "--out", tmp_path / "ref")
    assert code == 0, err
    assert "ask with: rnnlab majority" in err and "test accuracy" in err
    config = json.loads((tmp_path / "ref" / "config.json").read_text())
    assert config["options"]["task"] == "my-task" and config["options"]["lr"] == 0.02
    assert set(config["options"]) == {f.name for f in fields(MajorityOptions)}

    # interrupted after 5 updates, then resumed: the same losses as the uninterrupted run
    assert cli(capsys, *args, "--max-steps", "5", "--out", tmp_path / "cut")[0] == 0
    assert len([r for r in rows(tmp_path / "cut") if r[0] == "train"]) == 5
    code, _, err = cli(capsys, "resume", tmp_path / "cut", "--no-progress")
    assert code == 0, err
    assert rows(tmp_path / "cut") == rows(tmp_path / "ref")
    code, _, err = cli(capsys, "resume", tmp_path / "cut", "--hidden-units", "8")
    assert code == 2 and "cannot resume" in err and "hidden_units" in err

    # eval: the recipe's default evaluation rebuilds the task and scores the saved weights
    code, out, _ = cli(capsys, "eval", tmp_path / "ref", "--json")
    test_row = json.loads((tmp_path / "ref" / "metrics.jsonl").read_text().splitlines()[-1])
    assert json.loads(out)["accuracy"] == pytest.approx(test_row["accuracy"]) and test_row["accuracy"] > 0.9

    # predict (generic) and the recipe's own command give the same answers, from the arguments or stdin
    strings = ["aaaab", "bbbba", "ababa", "babbb"]
    code, out, _ = cli(capsys, "predict", tmp_path / "ref", *strings)
    assert code == 0 and out.splitlines() == ["a", "b", "a", "b"]
    code, out, _ = cli(capsys, "majority", tmp_path / "ref", "--probability", *strings)
    assert [line.split("\t")[0] for line in out.splitlines()] == ["a", "b", "a", "b"]
    assert all(0.5 < float(line.split("\t")[1]) <= 1 for line in out.splitlines())


def test_options_are_validated_before_anything_runs(recipe, tmp_path, capsys):
    for flags, message in ((["--length", "4"], "length must be odd"), (["--strings", "2"], "strings must be >= 8"),
                           (["--lr", "nan"], "lr must be a finite number")):
        code, _, err = cli(capsys, "train", "--task", "my-task", *flags, "--out", tmp_path / "x")
        assert code == 2 and message in err, err
    assert not (tmp_path / "x").exists()


def test_commands_check_the_kind_of_run(recipe, tmp_path, capsys):
    fixture = __import__("pathlib").Path(__file__).resolve().parents[1] / "fixtures" / "runs_v0_1" / "classify"
    code, _, err = cli(capsys, "majority", fixture, "ab")
    assert code == 2 and "'classify' run, not a majority run" in err


def test_registering_a_taken_task_or_command_fails(recipe):
    class Clash(MajorityRecipe):
        name = "clash"
    with pytest.raises(rnnlab.errors.ConfigError, match="task 'my-task'.*command 'majority'"):
        register(Clash())
