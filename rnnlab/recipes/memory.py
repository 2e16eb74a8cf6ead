"""The explicit-memory recipes: the NTM's bit-sequence tasks (`--task ntm-copy | ntm-repeat-copy |
ntm-recall`, an NTM or, with `--model lstm`, a recurrent baseline) and question answering with an
end-to-end memory network (`--task qa-...`).

The data is generated in code from `--data-seed` (rnnlab.datasets.ntm_tasks, rnnlab.datasets.babi).
`rnnlab eval RUN --length N` scores a bit-sequence run at a length (copy, repeat copy) or number
of items (recall) outside its training range, `--repeats R` at more repeats (repeat copy).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from typing import ClassVar

from rnnlab.data.vocab import Vocabulary
from rnnlab.datasets.babi import QA_TASKS, QAExample, qa_stories, tokens
from rnnlab.datasets.ntm_tasks import REPEAT_SCALE
from rnnlab.errors import DataError
from rnnlab.memory.memn2n import MemN2N
from rnnlab.memory.qa_task import QATask, build_vocab, encode
from rnnlab.memory.model import KINDS, BitSequenceModel
from rnnlab.memory.ntm import CONTROLLERS, MEMORY_INITS
from rnnlab.memory.predict import BitPredictor
from rnnlab.memory.task import BitSequenceTask
from rnnlab.errors import ConfigError
from rnnlab.recipes.common import BatchOptions, TaskOptions, check_known
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
    curriculum: int = option(0, "grow the longest training length from min to max over this many updates "
                             "(0: the whole range from the start)", min=0)
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
    compile: bool = option(False, "ntm: torch.compile the NTM step (faster updates after a one-off compile of "
                           "minutes; needs a C++ compiler)")
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
        if self.compile and self.model != "ntm":
            raise ConfigError("--compile applies to the NTM (--model ntm); the baseline cells have their own kernels")
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
        # copy: 10,000 updates with a 1,000-update curriculum — the measured NTM (docs/memory.md)
        # converged at update 4,000 with these settings; 3,000 (the old 30 epochs) stop on its plateau
        "ntm-copy": {"epochs": 100, "lr": 1e-3, "clip_norm": 10.0, "batch_size": 16, "eval_batch_size": 32,
                     "curriculum": 1000},
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
                               data_seed=options.data_seed, curriculum=options.curriculum)

    def prepare(self, options, vocabs=None) -> Prepared:
        task = self.task_of(options)
        seed_everything(options.seed)
        model = BitSequenceModel.build(task.input_width, task.output_width, kind=options.model,
                                       hidden_size=options.hidden, num_layers=options.layers,
                                       memory_slots=options.memory_slots, memory_width=options.memory_width,
                                       read_heads=options.read_heads, write_heads=options.write_heads,
                                       shift_range=options.shift_range, controller=options.controller,
                                       memory_init=options.memory_init, clip=options.head_clip)
        if options.compile and options.model == "ntm":
            model.encoder.cell.compile_step()
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

    def explorer(self, trained, request):
        """Fresh sequences inside and beyond the training range, each step's read and write
        weightings as heatmaps beside the input and output (typed input: bit vectors as for predict)."""
        from rnnlab.datasets.ntm_tasks import make_batch
        from rnnlab.explore.record_memory import record_ntm
        from rnnlab.explore.service import Explorer
        if request.text or request.dataset:
            raise ConfigError(f"{request.flag if request.dataset else '--text'} does not apply to a bit-sequence run: "
                              "it shows generated sequences (type bit vectors on the page instead)")
        o, predictor = trained.options, trained.predictor
        low, high = o.min_length, o.max_length
        sizes = [low, (low + high) // 2, high, 2 * high, 3 * high][:max(1, min(request.examples, 5))]
        generator = torch.Generator().manual_seed(o.data_seed + 12345)
        batches = [make_batch(NTM_TASKS[o.task], 1, size, bits=o.bits, repeats=min(o.max_repeats, 3),
                              item_length=o.item_length, generator=generator) for size in sizes]
        what = "items" if o.task == "ntm-recall" else "vectors"
        names = [f"{size} {what}" + (" (beyond training)" if size > high else "") for size in sizes]

        def record(items: list) -> list:
            return record_ntm(trained.model, [i if not isinstance(i, list) else predictor.layout(" ".join(i))
                                              for i in items], o.bits)
        m = trained.config["model"]
        kind = (f"NTM, {m['controller']} controller of {m['hidden_size']}, memory {m['memory_slots']} x "
                f"{m['memory_width']}" if m["kind"] == "ntm" else f"{m['num_layers']} x {m['hidden_size']} {m['kind']}")
        about = {"run": str(trained.run.path), "model": kind, "source": f"generated {NTM_TASKS[o.task]} sequences",
                 "memory_rows": m["memory_slots"] if m["kind"] == "ntm" else None}
        return Explorer(trained.model, Vocabulary(["<unk>"], unk="<unk>"), "word", list(zip(names, batches)),
                        hypotheses={}, about=about, recorder=record, kind="ntm")


RECIPE = NTMRecipe()


# --- question answering with an end-to-end memory network ----------------------------------------

QA = {f"qa-{t}": (t,) for t in QA_TASKS} | {"qa-all": QA_TASKS}


@dataclass
class QAOptions(TaskOptions, BatchOptions, TrainConfig):
    """Options of the question-answering tasks: the generated stories, the memory network, training."""
    GROUP: ClassVar[str] = "question answering"
    data_seed: int = option(0, "seed of the generated stories (separate from --seed)")
    train_examples: int = option(1000, "training questions per task (valid and test: a tenth, at least 200)", min=1)
    max_story: int = option(20, "sentences the memory holds (the latest of a story)", min=1)
    hops: int = option(3, "memory hops K", min=1)
    dim: int = option(20, "embedding size d", min=1)
    position: bool = option(True, "position encoding of the words of a sentence (else bag of words)")
    temporal: bool = option(True, "temporal encoding of the sentences' order")
    linear_epochs: int = option(5, "linear start: epochs without the attention softmax (0: off)", min=0)


@dataclass
class QAPredictOptions(Options):
    GROUP: ClassVar[str] = "prediction"
    attention: bool = option(False, "also print each hop's attention over the sentences")


class QARecipe(Recipe):
    """bAbI-style question answering with an end-to-end memory network."""
    name = "qa"
    tasks = {name: "qa" for name in QA}
    # Sukhbaatar et al. 2015, section 4.2: lr 0.01 halved every 25 epochs for 100 epochs, batch 32,
    # gradient norm clipped to 40; linear start for 20 epochs (the authors' released bAbI config).
    presets = {"qa": {"epochs": 100, "lr": 0.01, "clip_norm": 40.0, "batch_size": 32, "eval_batch_size": 256,
                      "schedule": "step", "decay_start": 25, "decay_every": 25, "decay_factor": 0.5,
                      "linear_epochs": 20}}
    Options = QAOptions
    PredictOptions = QAPredictOptions
    vocabs = ("words",)
    inputs, kind = "STORY", "question-answering run"
    use = 'ask with: rnnlab predict {run} "mary went to the kitchen. where is mary?"'

    def splits(self, options) -> dict[str, list[QAExample]]:
        n = options.train_examples
        sizes = {"train": n, "valid": max(200, n // 10), "test": max(200, n // 10)}
        return {split: [ex for t in QA[options.task] for ex in qa_stories(t, size, options.data_seed * 3 + k,
                                                                           max_story=options.max_story)]
                for k, (split, size) in enumerate(sizes.items())}

    def prepare(self, options, vocabs=None) -> Prepared:
        splits = self.splits(options)
        vocabs = dict(vocabs or {})
        if "words" not in vocabs:
            vocabs["words"] = build_vocab(splits["train"])
        task = QATask(splits, vocabs["words"], batch_size=options.batch_size, eval_batch_size=options.eval_batch_size,
                      seed=options.seed, linear_epochs=options.linear_epochs)
        seed_everything(options.seed)
        model = MemN2N.build(len(vocabs["words"]), dim=options.dim, hops=options.hops, max_story=options.max_story,
                             position=options.position, temporal=options.temporal)
        info = {"source": f"generated stories (data seed {options.data_seed})", "tasks": list(QA[options.task]),
                "examples": {k: len(v) for k, v in splits.items()}, "vocab_size": len(vocabs["words"])}
        return Prepared(model, task, vocabs, info)

    def describe(self, prepared: Prepared, options) -> str:
        info = prepared.data_info
        sizes = ", ".join(f"{k} {v:,}" for k, v in info["examples"].items())
        parts = [p for p, on in (("position encoding", options.position), ("temporal encoding", options.temporal),
                                 (f"linear start {options.linear_epochs} epochs", options.linear_epochs)) if on]
        return (f"{options.task}: {', '.join(info['tasks'])}; {sizes} questions, vocabulary {info['vocab_size']}\n"
                f"MemN2N: {options.hops} hops, d = {options.dim}, memory of {options.max_story} sentences, adjacent "
                f"tying, {', '.join(parts) or 'bag of words'}; {parameters(prepared.model):,} parameters")

    def format_metrics(self, metrics: dict) -> str:
        per = [f"{k.split('/', 1)[1]} {100 * v:.1f}%" for k, v in metrics.items() if k.startswith("accuracy/")]
        return f"accuracy {100 * metrics['accuracy']:.1f}% ({', '.join(per)}), loss {metrics['loss']:.4f}"

    def vocab_sizes(self, model_config) -> dict[str, int]:
        return {"words": model_config.get("vocab_size")}

    def rebuild(self, model_config, vocabs) -> MemN2N:
        return MemN2N.from_config(model_config)

    def evaluate(self, trained, split, data=None, batch_size=None):
        if data is not None:
            raise ConfigError("question-answering runs generate their stories; --data does not apply")
        return super().evaluate(trained, split, None, batch_size)

    def parse(self, text: str, vocab: Vocabulary, command: str = "predict") -> QAExample:
        """'sentence. sentence. question?' → a QAExample (answer unknown); words the model never saw
        are noted on stderr (they read as <unk>)."""
        if "?" not in text:
            raise DataError("a story ends with its question: 'mary went to the kitchen. where is mary?'")
        story_text, question = text.rsplit("?", 1)[0].rsplit(".", 1) if "." in text else ("", text.rsplit("?", 1)[0])
        sentences = tuple(tokens(s + ".") for s in story_text.split(".") if s.strip())
        if not sentences:
            raise DataError("the story has no sentences before its question")
        example = QAExample(sentences, tokens(question + "?"), "", (), "")
        check_known(command, [*example.story, example.question], vocab)
        return example

    def predict(self, trained, inputs, options):
        vocab, model = trained.vocabs["words"], trained.model
        for text in inputs:
            ex = self.parse(text, vocab)
            if len(ex.story) > model.max_story:
                ex = QAExample(ex.story[-model.max_story:], ex.question, "", (), "")
            story, question, _ = encode([ex], vocab)
            with torch.no_grad():
                logits, attn = model(story, question, attention=True)
            yield vocab.tokens[int(logits.argmax(-1))] + "\n"
            if options.attention:
                for i, sentence in enumerate(ex.story):
                    hops = " ".join(f"{float(attn[0, k, i]):.2f}" for k in range(model.hops))
                    yield f"  {hops}  {' '.join(sentence)}\n"

    def explorer(self, trained, request):
        """Test questions (or typed stories): the attention over the story's sentences at each hop."""
        from rnnlab.explore.record_memory import record_memn2n
        from rnnlab.explore.service import Explorer
        if request.text or request.dataset:
            raise ConfigError("a question-answering run shows its test stories (type a story on the page instead)")
        vocab, model = trained.vocabs["words"], trained.model
        test = self.splits(trained.options)["test"]
        per_task = {}
        for ex in test:  # a few of each task, in task order
            per_task.setdefault(ex.task, [])
            if len(per_task[ex.task]) < max(1, request.examples // max(1, len(QA[trained.options.task]))):
                per_task[ex.task].append(ex)
        picked = [ex for exs in per_task.values() for ex in exs]

        def record(items: list) -> list:
            out = []
            for item in items:
                ex = item if isinstance(item, QAExample) else self.parse(" ".join(item), vocab, "explore")
                out.append(ex if len(ex.story) <= model.max_story else
                           QAExample(ex.story[-model.max_story:], ex.question, ex.answer, (), ex.task))
            return record_memn2n(model, vocab, out)
        m = trained.config["model"]
        about = {"run": str(trained.run.path), "source": "generated test stories",
                 "model": f"MemN2N, {m['hops']} hops, d = {m['dim']}, memory of {m['max_story']} sentences"}
        names = [f"{ex.task} {k + 1}" for k, ex in enumerate(picked)]
        return Explorer(model, vocab, "word", list(zip(names, picked)), hypotheses={}, about=about, recorder=record,
                        kind="memn2n")


QA_RECIPE = QARecipe()
