"""Every option a run can have, in one table: CLI flags, TOML keys and presets all come from it.

Settings are resolved in this order, later winning: the table's defaults, the task's preset
(or `--preset`), a TOML file (`--config`), command-line flags. The resolved flat dict is what
`config.json` stores, so a run directory says exactly how it was made.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from rnnlab.errors import ConfigError


@dataclass(frozen=True)
class Option:
    name: str
    default: Any
    type: Callable[[str], Any]
    help: str
    nullable: bool = False   # "none" on the command line / absent in TOML means None


def _bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true/false, got {text!r}")


OPTIONS: list[Option] = [
    # what to learn, from what
    Option("task", "lm-char", str, "what to train: lm-char (character LM), lm-word (word LM), a synthetic "
           "memory task (counting, selective-counting, start-symbol, copy), tagging (slot filling), "
           "classify (sequence classification) or seq2seq (encoder-decoder)"),
    Option("data", None, str, "data directory. LMs: train.txt/valid.txt/test.txt or ptb.{train,valid,test}.txt; "
           "tagging: ATIS layout (train/seq.in, seq.out, label), CoNLL files or 'words<TAB>tags[<TAB>intent]' "
           "lines in {train,valid,test}.txt; classify: 'label<TAB>text' lines in {train,valid,test}.tsv or .txt; "
           "seq2seq: 'source<TAB>target' lines in {train,valid,test}.tsv or .txt "
           "(default: built-in data, see --dataset)", nullable=True),
    Option("dataset", None, str, "built-in data when --data is not given: tagging flights; classify balanced "
           "(default), parity or reber; seq2seq dates (default), reverse or sort", nullable=True),
    Option("train_examples", None, int, "built-in tagging/classify/seq2seq data: training examples "
           "(valid and test get a tenth each, at least 200 or as many as train)", nullable=True),
    Option("min_len", None, int, "built-in classify/seq2seq data: shortest sequence", nullable=True),
    Option("max_len", None, int, "built-in classify/seq2seq data: longest sequence", nullable=True),
    Option("data_seed", 0, int, "seed of generated data (separate from --seed, so seeds compare models on the same data)"),
    Option("level", None, str, "classify/seq2seq files: 'char' or 'word' tokens (default: word for classify, "
           "char for seq2seq)", nullable=True),
    Option("max_chars", 1_000_000, int, "built-in corpus: characters of training text (valid/test get a tenth)", nullable=True),
    Option("min_count", 1, int, "tokens seen fewer times in train map to <unk>"),
    Option("max_vocab", None, int, "keep only the most frequent tokens", nullable=True),
    # the model
    Option("cell", "lstm", str, "recurrent cell (see `rnnlab cells`)"),
    Option("hidden", 256, int, "units per layer"),
    Option("layers", 2, int, "stacked recurrent layers"),
    Option("embedding", 64, int, "embedding size; 0 = 1-of-N input; none = same as --hidden", nullable=True),
    Option("dropout", 0.0, float, "dropout on non-recurrent connections"),
    Option("init_range", None, float, "initialise every weight from U(-r, r) (default: each module's own)", nullable=True),
    Option("tie_weights", False, _bool, "share embedding and softmax weights (needs embedding = hidden)"),
    # tagging, classification and encoder-decoder models
    Option("bidirectional", False, _bool, "tagging/classify/seq2seq: bidirectional recurrent layers (seq2seq: encoder)"),
    Option("trigrams", True, _bool, "tagging: add letter-trigram features (word hashing) to the word embedding"),
    Option("projection", 0, int, "tagging: learned size of the trigram features (0: the raw trigram count vector)"),
    Option("jordan_feedback", "off", str, "tagging: feed the previous tag back into the first layer: off, onehot "
           "(teacher-forced in training, own predictions at inference) or softmax"),
    Option("bio_decoding", False, _bool, "tagging: output the best valid BIO tag sequence (Viterbi over the "
           "tag probabilities: no I-X without B-X before it) instead of each word's most likely tag"),
    Option("intent", True, _bool, "tagging: also classify the sentence's intent when the data has intents"),
    Option("pool", "last", str, "classify / tagging intent: read the sequence from its last state or the mean "
           "of all states (last, mean)"),
    Option("attention", True, _bool, "seq2seq: additive attention over the encoder states"),
    Option("context_input", False, _bool, "seq2seq: feed the encoder's summary C to every decoder step"),
    Option("teacher_forcing", "constant", str, "seq2seq: probability schedule of feeding the true previous "
           "token: constant, linear, exponential, inverse-sigmoid (Bengio et al. 2015)"),
    Option("tf_k", 1.0, float, "seq2seq schedule: k (constant: the probability; exponential: k^i; "
           "inverse-sigmoid: k/(k+exp(i/k)); linear: the start)"),
    Option("tf_c", 0.0, float, "seq2seq linear schedule: decrease per update"),
    Option("tf_floor", 0.0, float, "seq2seq linear schedule: the lowest probability"),
    Option("beam", 1, int, "seq2seq: beam width for evaluation and `rnnlab translate` (1: greedy)"),
    Option("length_penalty", 0.6, float, "seq2seq beam search: GNMT length normalisation alpha (0: none)"),
    # batching
    Option("batch_size", 32, int, "parallel streams per update"),
    Option("bptt", 100, int, "truncated BPTT: steps per update (k1)"),
    Option("bptt_back", None, int, "truncated BPTT: steps the gradient flows back (k2 >= k1; default k1)", nullable=True),
    Option("eval_batch_size", 10, int, "streams when evaluating (1 = one unbroken stream)"),
    Option("loss_sum_over_time", False, _bool, "back-propagate the loss summed over the bptt steps, not averaged "
           "(Zaremba et al.'s convention: their lr 1 is k1 times a mean-loss lr)"),
    # optimisation (rnnlab.train.TrainConfig)
    Option("epochs", 2, int, "passes over the training data"),
    Option("optimizer", "adam", str, "sgd, adam or adamw"),
    Option("lr", 2e-3, float, "learning rate"),
    Option("momentum", 0.0, float, "SGD momentum"),
    Option("weight_decay", 0.0, float, "L2 weight decay"),
    Option("clip_norm", 5.0, float, "clip the global gradient norm to this", nullable=True),
    Option("clip_value", None, float, "clip each gradient component to [-v, v]", nullable=True),
    Option("schedule", "constant", str, "learning-rate schedule: constant, step or plateau"),
    Option("decay_factor", 0.5, float, "schedule: multiply the rate by this when decaying"),
    Option("decay_start", 4, int, "step schedule: epochs at the base rate before decaying every epoch"),
    Option("plateau_patience", 0, int, "plateau schedule: epochs without improvement before decaying"),
    Option("early_stopping", None, int, "stop after this many epochs without a better validation loss", nullable=True),
    Option("max_steps", None, int, "stop (resumably) after this many updates", nullable=True),
    Option("max_time", None, float, "stop (resumably) after this many seconds", nullable=True),
    Option("checkpoint_every", 0, int, "also checkpoint every N updates (0: at epoch ends)"),
    Option("log_every", 50, int, "updates per line of metrics.jsonl"),
    Option("seed", 0, int, "random seed (initialisation, dropout)"),
]
BY_NAME = {o.name: o for o in OPTIONS}

TRAIN_KEYS = ("epochs", "optimizer", "lr", "momentum", "weight_decay", "clip_norm", "clip_value", "schedule",
              "decay_factor", "decay_start", "plateau_patience", "early_stopping", "max_steps", "max_time",
              "checkpoint_every", "log_every", "seed")

# settings a resumed run may change: budgets only — anything else would make it a different run
RESUMABLE = ("epochs", "max_steps", "max_time", "checkpoint_every", "early_stopping")

PRESETS: dict[str, dict[str, Any]] = {
    # a character LSTM that writes Python-looking code after a few minutes on 2 cores
    "char": {},
    # `make demo`: the same model on a short budget
    "demo": {"max_chars": 800_000, "epochs": 2, "hidden": 256, "layers": 1, "lr": 3e-3, "log_every": 10},
    # the synthetic memory tasks: small models whose units can be read one by one
    "memory": {"max_chars": 200_000, "hidden": 32, "layers": 1, "embedding": 0, "bptt": 50, "batch_size": 16,
               "epochs": 5, "lr": 1e-2, "eval_batch_size": 4, "log_every": 20},
    "word": {"task": "lm-word", "hidden": 200, "embedding": None, "bptt": 35, "batch_size": 20,
             "max_vocab": 10_000, "lr": 1e-3},
    # Zaremba, Sutskever & Vinyals (2014), "small": 2 x 200 LSTM, no dropout, SGD lr 1 halved
    # every epoch after the 4th, 13 epochs, batch 20, 20-step truncated BPTT, weights U(±0.1),
    # gradient norm clipped at 5 — of the loss summed over the 20 steps, as their code does.
    # Published: valid 120.7, test 114.5 perplexity.
    "ptb-small": {"task": "lm-word", "cell": "lstm", "hidden": 200, "layers": 2, "embedding": None,
                  "dropout": 0.0, "init_range": 0.1, "batch_size": 20, "bptt": 20, "eval_batch_size": 1,
                  "epochs": 13, "optimizer": "sgd", "lr": 1.0, "schedule": "step", "decay_start": 4,
                  "decay_factor": 0.5, "clip_norm": 5.0, "max_vocab": None, "log_every": 100,
                  "loss_sum_over_time": True},
    # slot filling on the built-in flight corpus (or --data): BiLSTM over embeddings + letter trigrams
    "tagging": {"task": "tagging", "cell": "lstm", "hidden": 64, "layers": 1, "embedding": 64, "bidirectional": True,
                "projection": 64, "min_count": 2, "dropout": 0.2, "batch_size": 16, "eval_batch_size": 64, "bio_decoding": True,
                "epochs": 5, "lr": 3e-3, "log_every": 20},
    # ATIS slot filling + intent (tuned on valid only): BiLSTM 128 over a 100-d word embedding and a
    # 100-d projection of the word's letter trigrams; Adam, halved when valid F1 stalls, early stopping
    "atis": {"task": "tagging", "cell": "lstm", "hidden": 128, "layers": 1, "embedding": 100, "bidirectional": True,
             "trigrams": True, "projection": 100, "min_count": 1, "dropout": 0.3, "batch_size": 16,
             "eval_batch_size": 128, "epochs": 25, "optimizer": "adam", "lr": 2e-3, "clip_norm": 5.0,
             "schedule": "plateau", "decay_factor": 0.5, "plateau_patience": 1, "early_stopping": 6,
             "pool": "last", "bio_decoding": True, "log_every": 50},
    # sequence classification: a small LSTM over character embeddings (built-in: balanced brackets)
    "classify": {"task": "classify", "cell": "lstm", "hidden": 64, "layers": 1, "embedding": 16,
                 "batch_size": 32, "eval_batch_size": 128, "epochs": 5, "lr": 3e-3, "log_every": 20},
    # encoder-decoder with attention on the built-in date translation
    "seq2seq": {"task": "seq2seq", "cell": "lstm", "hidden": 128, "layers": 1, "embedding": 32, "attention": True,
                "batch_size": 32, "eval_batch_size": 128, "epochs": 3, "lr": 3e-3, "log_every": 20},
}
TASK_PRESET = {"lm-char": "char", "lm-word": "word", "counting": "memory", "selective-counting": "memory",
               "start-symbol": "memory", "copy": "memory", "tagging": "tagging", "classify": "classify",
               "seq2seq": "seq2seq"}


def defaults() -> dict[str, Any]:
    return {o.name: o.default for o in OPTIONS}


def check_keys(options: dict, where: str) -> None:
    unknown = sorted(set(options) - set(BY_NAME))
    if unknown:
        raise ConfigError(f"{where}: unknown option(s) {', '.join(unknown)}")


def preset(name: str) -> dict[str, Any]:
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    return dict(PRESETS[name])


def read_toml(path: str | Path) -> dict[str, Any]:
    """A flat TOML file of options (`hidden = 512`, `cell = "gru"`); `[train]`-style tables are flattened."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {path} is not valid TOML ({e})") from None
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update({k.replace("-", "_"): v for k, v in value.items()})
        else:
            flat[key.replace("-", "_")] = value
    check_keys(flat, f"config file {path}")
    for key, value in flat.items():
        flat[key] = coerce(key, value, f"config file {path}")
    return flat


def coerce(key: str, value: Any, where: str) -> Any:
    """Check a value's type against the option table (ints accepted where floats are expected)."""
    opt = BY_NAME[key]
    if value is None or (isinstance(value, str) and value.lower() == "none" and opt.nullable):
        if not opt.nullable:
            raise ConfigError(f"{where}: {key} cannot be none")
        return None
    if isinstance(value, str) and opt.type is not str:
        try:
            return opt.type(value)
        except ValueError:
            raise ConfigError(f"{where}: {key} = {value!r} is not a valid {opt.type.__name__.strip('_')}") from None
    expected = {int: (int,), float: (int, float), str: (str,), _bool: (bool,)}[opt.type]
    if isinstance(value, bool) and opt.type is not _bool or not isinstance(value, expected):
        raise ConfigError(f"{where}: {key} must be a {opt.type.__name__.strip('_')}, got {value!r}")
    return float(value) if opt.type is float else value


def resolve(*layers: dict[str, Any]) -> dict[str, Any]:
    """Merge option layers (later wins) over the defaults; the task picks its preset first."""
    given: dict[str, Any] = {}
    for layer in layers:
        given.update(layer)
    out = defaults()
    task = given.get("task", out["task"])
    if task in TASK_PRESET:
        out.update(preset(TASK_PRESET[task]))
    out.update(given)
    return out
