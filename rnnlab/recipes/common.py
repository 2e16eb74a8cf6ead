"""What recipes share: option groups (composed into a recipe's options by inheritance) and small
helpers for data fingerprints, built-in split sizes, saved vocabularies and unseen tokens.

A recipe's options class lists the groups it uses, most specific first, and adds its own fields
(every recipe needs at least `TaskOptions` and `TrainConfig`):

    @dataclass
    class Options(ExampleOptions, CappedVocabOptions, EncoderOptions, BatchOptions, TrainConfig):
        pool: str = option("last", "read the class from the last state or the mean", choices=POOLS)

A recipe that needs a different help line or choices for a shared option (the `data` layouts it
reads, its `dataset` names) redeclares that one field; it stays in its group.
"""
from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from typing import ClassVar

from rnnlab.cells.registry import CELLS
from rnnlab.data.vocab import Vocabulary
from rnnlab.errors import CheckpointError, ConfigError, DataError
from rnnlab.recipes.run_dir import RunDir
from rnnlab.train.config import Options, option
from rnnlab.train.rtrl.engine import METHODS as ONLINE_METHODS

LEVELS = ("word", "char")


@dataclass
class TaskOptions(Options):
    """The one option every recipe has: which of its tasks a run is."""
    GROUP: ClassVar[str] = "task and data"
    task: str = option("lm-char", "what to train; `rnnlab train --task X -h` lists the options of task X")


@dataclass
class DataOptions(TaskOptions):
    """Where the data comes from: a directory (`--data`) or generated data with its own seed."""
    data: str | None = option(None, "data directory (default: built-in data)")
    data_seed: int = option(0, "seed of generated data (separate from --seed, so seeds compare models on the same data)")


@dataclass
class ExampleOptions(DataOptions):
    """Data that is either generated (`--dataset`) or read from files (`--data`)."""
    dataset: str | None = option(None, "built-in data when --data is not given")
    train_examples: int | None = option(None, "built-in data: training examples (valid and test get a tenth "
                                        "each, at least 200 or as many as train)", min=1)

    def check(self) -> None:
        super().check()
        if self.data is not None and self.dataset is not None:
            raise ConfigError("--dataset names built-in data; drop it when giving --data")


@dataclass
class TextOptions(ExampleOptions):
    """Examples of text: characters or words, and the lengths of generated ones."""
    level: str | None = option(None, "files: 'char' or 'word' tokens", choices=LEVELS)
    min_len: int | None = option(None, "built-in data: shortest sequence", min=1)
    max_len: int | None = option(None, "built-in data: longest sequence", min=1)

    def check(self) -> None:
        super().check()
        if self.data is None and self.level not in (None, "char"):
            raise ConfigError("the built-in data is character level; --level applies to --data files")


@dataclass
class VocabOptions(Options):
    """How the vocabulary is built from the training split."""
    GROUP: ClassVar[str] = "vocabulary"
    min_count: int = option(1, "tokens seen fewer times in train map to <unk>", min=1)


@dataclass
class CappedVocabOptions(VocabOptions):
    """VocabOptions with a size limit (the most frequent tokens)."""
    max_vocab: int | None = option(None, "keep only the most frequent tokens", min=1)


@dataclass
class ModelOptions(Options):
    """The recurrent model: cell name, units per layer, layers, embedding size, dropout."""
    GROUP: ClassVar[str] = "model"
    cell: str = option("lstm", "recurrent cell (see `rnnlab cells`)", choices=lambda: tuple(CELLS))
    hidden: int = option(256, "units per layer", min=1)
    layers: int = option(2, "stacked recurrent layers", min=1)
    embedding: int | None = option(64, "embedding size; 0 = 1-of-N input; none = same as --hidden", min=0)
    dropout: float = option(0.0, "dropout on non-recurrent connections", min=0, max=1)


@dataclass
class EncoderOptions(ModelOptions):
    """ModelOptions of an encoder that can read both ways (`--bidirectional`)."""
    bidirectional: bool = option(False, "bidirectional recurrent layers")


@dataclass
class BatchOptions(Options):
    """Examples per training update and per evaluation batch."""
    GROUP: ClassVar[str] = "batching"
    batch_size: int = option(32, "sequences (or parallel streams) per update", min=1)
    eval_batch_size: int = option(10, "sequences (or streams) per batch when evaluating", min=1)


LEARNING = ("bptt", "tbptt", *ONLINE_METHODS)


@dataclass
class LearningOptions(Options):
    """How the gradient is computed: back-propagation through time (windows of the stream), or
    forward in time by RTRL or one of its approximations, learning online (rnnlab.train.rtrl)."""
    GROUP: ClassVar[str] = "learning"
    learning: str = option("bptt", "bptt / tbptt: back-propagation over windows of the stream; rtrl (exact), snap1, "
                           "snap2, uoro, diag: forward-mode, online, state and influence carried forever",
                           choices=LEARNING)
    update_every: int | None = option(None, "steps per parameter update (online methods: default 1; tbptt: "
                                      "default --bptt, the truncation window)", min=1)
    online_reset: str = option("never", "online methods: never (one endless stream — the training text loops and "
                               "the state and influence are carried across epochs) or epoch (start afresh at each "
                               "pass)", choices=("never", "epoch"))

    def check(self) -> None:
        super().check()
        if self.learning == "bptt" and self.update_every is not None:
            raise ConfigError("--update-every applies to --learning tbptt and the online methods, not bptt")
        if self.learning not in ONLINE_METHODS and self.online_reset != "never":
            raise ConfigError(f"--online-reset applies to the online methods ({', '.join(ONLINE_METHODS)}), "
                              f"not --learning {self.learning}")
        if self.learning in ONLINE_METHODS:
            if getattr(self, "dropout", 0.0):
                raise ConfigError(f"--learning {self.learning}: dropout is not supported (set --dropout 0)")
            if getattr(self, "bidirectional", False):
                raise ConfigError(f"--learning {self.learning} runs forward in time: no --bidirectional")


def fingerprint(value) -> str:
    """A short hash of JSON-able data (examples of a split), to notice changed data on resume."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def split_sizes(n_train: int) -> tuple[int, int, int]:
    """Built-in data: train, valid and test sizes (valid and test: a tenth, at least 200 — or as
    many as train when that is fewer)."""
    n = max(min(200, n_train), n_train // 10)
    return n_train, n, n


def save_vocabs(run: RunDir, vocabs: dict[str, Vocabulary]) -> None:
    for name, vocab in vocabs.items():
        vocab.save(run.vocab_file(name))


def load_vocabs(run: RunDir, names, required=()) -> dict[str, Vocabulary]:
    """The run's saved vocabularies among `names` (a model may not use all of them); those in
    `required` must be there."""
    out = {}
    for name in names:
        path = run.vocab_file(name)
        if path.is_file():
            out[name] = Vocabulary.load(path)
        elif name in required:
            raise CheckpointError(f"{run.path} is incomplete: {path.name} is missing")
    return out


def check_known(command: str, sequences: list[list[str]], vocab: Vocabulary, via: str = "") -> None:
    """Unseen tokens: an error when the vocabulary has no <unk>, else a note on stderr."""
    unknown = sorted({t for s in sequences for t in s if t not in vocab})
    if not unknown:
        return
    if vocab.unk is None:
        raise DataError(f"the model never saw these tokens: {' '.join(map(repr, unknown[:10]))}")
    print(f"rnnlab {command}: note: {len(unknown)} token(s) not seen in training, read as {vocab.unk}{via}: "
          f"{' '.join(unknown[:10])}", file=sys.stderr)
