"""The spoken-digits recipe: WAV recordings (or generated tones) → audio features →
`UtteranceClassifier` (a TDNN or a recurrent encoder, pooled per utterance) → `UtteranceTask`.

    rnnlab train --task digits --data ../shared/data/fsdd --cell tdnn
    rnnlab train --preset digits-fsdd --data ../shared/data/fsdd    # the recipe chosen on validation
    rnnlab train --task digits --data ../shared/data/fsdd --cell lstm --split speaker:theo
    rnnlab classify RUN some.wav                # or: rnnlab classify-audio / predict RUN some.wav
    rnnlab eval RUN --split test

Without --data the digits are built-in generated tones (rnnlab/datasets/tones.py), so the whole
path runs without ../shared. Splits: rnnlab/data/spoken_digits.py ("own": takes 0–4 test;
"speaker:NAME": leave that speaker out). The features' options are saved with the run, so
prediction computes exactly the training features.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Iterator

from rnnlab.cells.registry import CELLS
from rnnlab.data.audio import FEATURE_KINDS, AudioFeatures, read_wav
from rnnlab.data.spoken_digits import digit_splits, read_digit_dir
from rnnlab.data.vocab import Vocabulary
from rnnlab.datasets.tones import tone_digits
from rnnlab.errors import ConfigError, DataError
from rnnlab.layers.pooling import UTTERANCE_POOLS
from rnnlab.recipes.common import BatchOptions, DataOptions, fingerprint
from rnnlab.recipes.recipe import Prepared, Recipe, parameters
from rnnlab.speech.augment import FrameAugment
from rnnlab.speech.model import UtteranceClassifier
from rnnlab.speech.predict import AudioPredictor
from rnnlab.speech.task import UtteranceTask
from rnnlab.train.config import Options, TrainConfig, option
from rnnlab.train.trainer import seed_everything

_FRAMES: dict = {}  # (file, features) → frames: one process training several models reads each file once


@dataclass
class DigitsOptions(DataOptions, BatchOptions, TrainConfig):
    """Options of `--task digits`."""
    GROUP: ClassVar[str] = "spoken digits"
    data: str | None = option(None, "directory of {digit}_{speaker}_{take}.wav files (or with them in recordings/); "
                              "default: built-in generated tones")
    takes: int = option(14, "built-in data: takes of each digit per speaker (3 speakers)", min=11)
    split: str = option("own", "'own' (takes 0-4 are test, 5-9 validation) or 'speaker:NAME' (that speaker is test)")
    features: str = option("logmel", "log-mel filterbank energies or MFCCs", choices=FEATURE_KINDS)
    mels: int = option(40, "mel bands", min=2)
    mfcc: int = option(13, "MFCCs kept (--features mfcc)", min=1)
    deltas: int = option(0, "append deltas: 0 none, 1 Δ, 2 Δ and ΔΔ", min=0, max=2)
    cell: str = option("tdnn", "encoder: tdnn, or a recurrent cell (see `rnnlab cells`)",
                       choices=lambda: ("tdnn", *CELLS))
    hidden: int = option(64, "units per layer", min=1)
    layers: int = option(3, "layers", min=1)
    bidirectional: bool = option(False, "bidirectional recurrent layers")
    dropout: float = option(0.1, "dropout between layers and on the pooled vector", min=0, max=1)
    pool: str = option("stats", "utterance pooling: mean, max, stats (mean+std), last, attention",
                       choices=UTTERANCE_POOLS)
    context: str | None = option(None, "TDNN offsets per layer, e.g. --context=-2,-1,0,1,2;-2,0,2;-3,0,3 "
                                 "(default: Waibel-style growing windows)")
    stride: int = option(1, "TDNN: the top layer keeps every stride-th frame", min=1)
    # training-time augmentation of the feature frames (rnnlab/speech/augment.py); all 0: none
    speed: float = option(0.0, "augment: tempo perturbation, stretch each utterance by a factor in [1-s, 1+s]",
                          min=0, max=0.5)
    shift: int = option(0, "augment: random crop of up to this many frames at each end", min=0)
    time_masks: int = option(0, "augment: SpecAugment time masks per utterance", min=0)
    time_mask_width: int = option(8, "augment: widest time mask, frames", min=1)
    freq_masks: int = option(0, "augment: SpecAugment frequency masks per utterance", min=0)
    freq_mask_width: int = option(6, "augment: widest frequency mask, bands", min=1)

    def check(self) -> None:
        super().check()
        if self.split != "own" and not self.split.startswith("speaker:"):
            raise ConfigError(f"split must be 'own' or 'speaker:NAME', got {self.split!r}")
        if self.mfcc > self.mels:
            raise ConfigError(f"--mfcc ({self.mfcc}) cannot exceed --mels ({self.mels})")
        parse_context(self.context)


def parse_context(text: str | None) -> list[list[int]] | None:
    if text is None:
        return None
    try:
        return [[int(o) for o in layer.split(",")] for layer in text.split(";")]
    except ValueError:
        raise ConfigError(f"context must be offsets per layer like '-2,-1,0,1,2;-2,0,2', got {text!r}") from None


@dataclass
class DigitsPrintOptions(Options):
    """Flags of `rnnlab classify-audio`."""
    GROUP: ClassVar[str] = "output"
    all: bool = option(False, "print every label's probability")
    json: bool = option(False, "one JSON object per file")


def audio_features(options) -> AudioFeatures:
    return AudioFeatures(kind=options.features, n_mels=options.mels, n_mfcc=options.mfcc,
                         deltas=options.deltas)


def frame_augment(options) -> FrameAugment:
    return FrameAugment(speed=options.speed, shift=options.shift, time_masks=options.time_masks,
                        time_mask_width=options.time_mask_width, freq_masks=options.freq_masks,
                        freq_mask_width=options.freq_mask_width)


class DigitsRecipe(Recipe):
    """One label per recording."""
    name = "digits"
    tasks = {"digits": "digits"}
    presets = {"digits": {"epochs": 15, "lr": 2e-3, "batch_size": 32, "eval_batch_size": 128, "log_every": 20,
                          "schedule": "plateau", "plateau_patience": 1},
               # the FSDD recipe chosen on validation (examples/digits_tune.py, docs/delay.md): a 4-layer
               # TDNN on MFCCs + deltas with light augmentation, 40 epochs, cosine schedule
               "digits-fsdd": {"task": "digits", "epochs": 40, "lr": 2e-3, "batch_size": 32, "eval_batch_size": 128,
                               "log_every": 20, "schedule": "cosine", "cell": "tdnn", "hidden": 64, "layers": 4,
                               "pool": "stats", "dropout": 0.1, "features": "mfcc", "mfcc": 13, "deltas": 2,
                               "speed": 0.1, "shift": 5, "time_masks": 2, "time_mask_width": 8, "freq_masks": 2,
                               "freq_mask_width": 4}}
    Options = DigitsOptions
    PredictOptions = DigitsPrintOptions
    vocabs = ("labels",)
    command, inputs, kind = "classify-audio", "WAV", "spoken-digits run"
    shared_commands = ("classify",)  # `rnnlab classify RUN x.wav` too: the run says which recipe
    command_help = "classify WAV recordings with a trained digits model"
    use = "classify with: rnnlab classify {run} some.wav"

    def load_frames(self, options) -> tuple[dict[str, list], dict]:
        features = audio_features(options)
        if options.data is None:
            clips = tone_digits(options.takes, seed=options.data_seed)
            splits = digit_splits(clips, options.split)
            frames = {s: [(features(c.samples, c.rate), c.digit) for c in clips_] for s, clips_ in splits.items()}
            info = {"source": "built-in:tones"}
        else:
            splits = digit_splits(read_digit_dir(options.data), options.split)
            frames = {s: [(self._frames(r.path, features), r.digit) for r in recs] for s, recs in splits.items()}
            info = {"source": str(options.data)}
        names = {s: [f"{r.digit}_{r.speaker}_{r.take}" for r in recs] for s, recs in splits.items()}
        info.update(split=options.split, sha256={s: fingerprint(n) for s, n in names.items()},
                    examples={s: len(n) for s, n in names.items()}, features=features.to_dict())
        return frames, info

    @staticmethod
    def _frames(path: str, features: AudioFeatures):
        key = (path, features)
        if key not in _FRAMES:
            _FRAMES[key] = features(*read_wav(path))
        return _FRAMES[key]

    def prepare(self, options, vocabs=None) -> Prepared:
        frames, info = self.load_frames(options)
        vocabs = dict(vocabs or {})
        if "labels" not in vocabs:
            vocabs["labels"] = Vocabulary.build(sorted({d for _, d in frames["train"]}), unk=None)
        labels = vocabs["labels"]
        unknown = sorted({d for exs in frames.values() for _, d in exs} - set(labels.tokens))
        if unknown:
            raise ConfigError(f"digits: labels {unknown} are not among the run's labels {list(labels.tokens)}")
        splits = {s: [(f, labels.index(d)) for f, d in exs] for s, exs in frames.items()}
        task = UtteranceTask(splits, labels.tokens, batch_size=options.batch_size,
                             eval_batch_size=options.eval_batch_size, seed=options.seed,
                             augment=frame_augment(options))
        seed_everything(options.seed)
        model = UtteranceClassifier.build(audio_features(options).width, len(labels), encoder=options.cell,
                                          hidden_size=options.hidden, num_layers=options.layers,
                                          bidirectional=options.bidirectional, dropout=options.dropout,
                                          pool=options.pool, context=parse_context(options.context),
                                          stride=options.stride)
        return Prepared(model, task, vocabs, info)

    def describe(self, prepared: Prepared, options) -> str:
        info = prepared.data_info
        sizes = ", ".join(f"{s} {n:,}" for s, n in info["examples"].items())
        kind = ("bidirectional " if options.bidirectional else "") + options.cell
        return (f"digits on {info['source']} (split {info['split']}): {sizes} recordings; {options.features} "
                f"x {audio_features(options).width}\n{options.layers} x {options.hidden} {kind}, {options.pool} "
                f"pooling, {parameters(prepared.model):,} parameters, {prepared.task.num_batches():,} updates per epoch")

    def format_metrics(self, metrics: dict) -> str:
        return f"accuracy {100 * metrics['accuracy']:.2f}%, loss {metrics['loss']:.4f}"

    def vocab_sizes(self, model_config) -> dict[str, int]:
        return {"labels": model_config.get("num_classes")}

    def rebuild(self, model_config, vocabs) -> UtteranceClassifier:
        return UtteranceClassifier.from_config(model_config)

    def predictor(self, model, vocabs, options) -> AudioPredictor:
        return AudioPredictor(model, audio_features(options), vocabs["labels"].tokens,
                              batch_size=options.eval_batch_size)

    def predict(self, trained, inputs: list[str], options: DigitsPrintOptions) -> Iterator[str]:
        for path, (label, probs) in zip(inputs, trained.predictor.predict_files(inputs)):
            if options.json:
                yield json.dumps({"file": path, "label": label, "probabilities": probs}) + "\n"
                continue
            ranked = sorted(probs.items(), key=lambda kv: -kv[1])
            shown = "  ".join(f"{k} {v:.3f}" for k, v in ranked) if options.all else f"{probs[label]:.3f}"
            yield f"{label}\t{shown}\t{path}\n"

    def explorer(self, trained, request):
        """Test recordings of the run's data (a few of each digit), or --text: a WAV file or a file
        listing WAV paths; each frame's input features, every encoder unit and the running class
        posterior (rnnlab/explore/record_signal.py). On the page, type a WAV path to add one."""
        from rnnlab.explore.record_signal import record_utterance
        from rnnlab.explore.service import Explorer
        from rnnlab.recipes.explorers import read_text
        if request.dataset:
            raise ConfigError(f"{request.flag} gives lines of a synthetic text task; a digits run shows recordings "
                              "(pass --text FILE.wav, or a file listing WAV paths, or nothing for its test recordings)")
        options, features = trained.options, audio_features(trained.options)
        if request.text:
            paths = ([request.text] if request.text.lower().endswith(".wav") else
                     [line.strip() for line in read_text(request.text).splitlines() if line.strip()])
            picked = [(Path(p).name, p) for p in paths[:request.examples]]
            source = request.text
        else:
            if options.data is None:
                test = digit_splits(tone_digits(options.takes, seed=options.data_seed), options.split)["test"]
                source = "built-in generated tones (test split)"
            else:
                test = digit_splits(read_digit_dir(options.data), options.split)["test"]
                source = f"test recordings of {options.data} (split {options.split})"
            by_digit: dict[str, list] = {}
            for r in test:
                by_digit.setdefault(r.digit, []).append(r)
            rounds = [r for k in range(max(map(len, by_digit.values()))) for d in sorted(by_digit)
                      for r in by_digit[d][k:k + 1]]  # round robin: every digit before any repeats
            picked = [(f"{r.digit}_{r.speaker}_{r.take}", r) for r in rounds[:request.examples]]
        if not picked:
            raise DataError(f"no recordings to explore in {request.text or 'the test split'}")

        def record(items: list) -> list:
            out = []
            for item in items:
                if isinstance(item, list):  # typed on the page: a WAV path (split on whitespace by the page)
                    item = " ".join(item)
                if isinstance(item, str):
                    frames = features(*read_wav(item))
                elif hasattr(item, "samples"):  # a generated clip
                    frames = features(item.samples, item.rate)
                else:
                    frames = self._frames(item.path, features)
                out.append(record_utterance(trained.model, frames, hop_s=features.hop_ms / 1000))
            return out
        m = trained.config["model"]
        kind = ("bidirectional " if m["bidirectional"] else "") + m["encoder"]
        about = {"run": str(trained.run.path), "source": source, "classes": list(trained.vocabs["labels"].tokens),
                 "model": f"{m['num_layers']} x {m['hidden_size']} {kind}, {m['pool']} pooling, "
                          f"{features.kind} x {features.width}"}
        return Explorer(trained.model, Vocabulary(["<unk>"], unk="<unk>"), "word", picked, hypotheses={},
                        about=about, recorder=record, kind="signal")


RECIPE = DigitsRecipe()
