"""The encoder–decoder recipe: options → (source, target) pairs, vocabularies, `Seq2Seq` and
`Seq2SeqTask`.

Built-in data (`--dataset`): dates in written forms → ISO (the default), reversing or sorting a
string — character level, generated in code. With `--data DIR`: `source<TAB>target` lines in
{train,valid,test}.tsv/.txt, read as characters (default) or words (`--level`). Training feeds
the decoder the true previous token with a probability given by a schedule (`--teacher-forcing`,
`--tf-k`, `--tf-c`, `--tf-floor`; Bengio et al. 2015); evaluation decodes greedily or with a
beam (`--beam`, `--length-penalty`) and reports exact match.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar, Iterator

from rnnlab.data.pairs import read_pairs_dir
from rnnlab.datasets.transduction import TRANSDUCTION_DATASETS, transduction_data
from rnnlab.errors import DataError
from rnnlab.recipes.common import LEVELS, BatchOptions, EncoderOptions, TextOptions
from rnnlab.recipes.presets import SEQ2SEQ_PRESETS
from rnnlab.recipes.recipe import Prepared, parameters
from rnnlab.recipes.text import TextRecipe
from rnnlab.seq2seq.decoding import translate
from rnnlab.seq2seq.model import Seq2Seq
from rnnlab.seq2seq.task import SCHEDULES, SamplingSchedule, Seq2SeqTask, build_vocabularies
from rnnlab.train.config import Options, TrainConfig, option
from rnnlab.train.trainer import seed_everything


@dataclass
class Seq2SeqOptions(TextOptions, EncoderOptions, BatchOptions, TrainConfig):
    """Options of `--task seq2seq`: encoder–decoder, attention, teacher forcing schedule, decoding."""
    GROUP: ClassVar[str] = "encoder-decoder"
    data: str | None = option(None, "data directory: 'source<TAB>target' lines in {train,valid,test}.tsv or .txt "
                              "(default: built-in data, see --dataset)")
    dataset: str | None = option(None, "built-in data when --data is not given: dates (default), reverse or sort",
                                 choices=TRANSDUCTION_DATASETS)
    level: str | None = option(None, "files: 'char' or 'word' tokens (default char)", choices=LEVELS)
    bidirectional: bool = option(False, "bidirectional encoder")
    attention: bool = option(True, "additive attention over the encoder states")
    context_input: bool = option(False, "feed the encoder's summary C to every decoder step")
    teacher_forcing: str = option("constant", "probability schedule of feeding the true previous token: constant, "
                                  "linear, exponential, inverse-sigmoid (Bengio et al. 2015)", choices=SCHEDULES)
    tf_k: float = option(1.0, "schedule: k (constant: the probability; exponential: k^i; inverse-sigmoid: "
                         "k/(k+exp(i/k)); linear: the start)")
    tf_c: float = option(0.0, "linear schedule: decrease per update")
    tf_floor: float = option(0.0, "linear schedule: the lowest probability")
    beam: int = option(1, "beam width for evaluation and `rnnlab translate` (1: greedy)", min=1)
    length_penalty: float = option(0.6, "beam search: GNMT length normalisation alpha (0: none)", min=0)

    def check(self) -> None:
        super().check()
        self.sampling_schedule()

    def sampling_schedule(self) -> SamplingSchedule:
        return SamplingSchedule(self.teacher_forcing, k=self.tf_k, c=self.tf_c, epsilon=self.tf_floor)


@dataclass
class TranslateOptions(Options):
    """Flags of `rnnlab translate` (and `rnnlab predict` on an encoder–decoder run)."""
    GROUP: ClassVar[str] = "decoding"
    beam: int | None = option(None, "beam width (1: greedy; default: the run's)", min=1)
    length_penalty: float | None = option(None, "GNMT alpha (default: the run's)", min=0)
    max_len: int = option(200, "longest output in tokens", min=1)
    json: bool = option(False, "one JSON object per source")


class Seq2SeqRecipe(TextRecipe):
    """Sequence to sequence: an encoder, a decoder, optionally attention."""
    name = "seq2seq"
    tasks = {"seq2seq": "seq2seq"}
    presets = SEQ2SEQ_PRESETS
    Options = Seq2SeqOptions
    PredictOptions = TranslateOptions
    vocabs = ("source", "target")
    command, inputs, kind = "translate", "SOURCE", "seq2seq run"
    command_help = "map sources to targets with a trained encoder-decoder"
    use = 'translate with: rnnlab translate {run} "november 2nd 2019"'
    default_dataset, default_train_examples, file_level, counted = "dates", 10_000, "char", "pairs"
    make_data, read_dir = staticmethod(transduction_data), staticmethod(read_pairs_dir)
    source_vocab = "source"

    def as_json(self, example):
        return [list(example[0]), list(example[1])]

    def prepare(self, options, vocabs=None) -> Prepared:
        splits, info = self.load_examples(options)
        if vocabs and "source" in vocabs and "target" in vocabs:
            src, tgt = vocabs["source"], vocabs["target"]
        else:  # generated data has no unseen tokens; files may
            src, tgt = build_vocabularies(splits["train"], unk=None if options.data is None else "<unk>")
        try:
            task = Seq2SeqTask(splits, src, tgt, batch_size=options.batch_size, seed=options.seed,
                               teacher_forcing=options.sampling_schedule(), eval_batch_size=options.eval_batch_size,
                               beam_size=options.beam, length_penalty=options.length_penalty)
        except DataError as e:
            raise DataError(f"{info['source']}: {e}") from None
        seed_everything(options.seed)
        model = Seq2Seq.build(len(src), len(tgt), cell=options.cell, hidden_size=options.hidden,
                              num_layers=options.layers, embedding_size=options.embedding,
                              bidirectional=options.bidirectional, attention=options.attention,
                              context_input=options.context_input, dropout=options.dropout,
                              pad_index=tgt.index("<pad>"), bos_index=tgt.index("<bos>"), eos_index=tgt.index("<eos>"))
        info.update(source_vocab=len(src), target_vocab=len(tgt))
        return Prepared(model, task, {"source": src, "target": tgt}, info)

    def describe(self, prepared: Prepared, options) -> str:
        info = prepared.data_info
        sizes = ", ".join(f"{s} {n:,}" for s, n in info["pairs"].items())
        kind = ("bidirectional " if options.bidirectional else "") + options.cell
        kind += " with attention" if options.attention else " without attention"
        return (f"seq2seq on {info['source']}: {sizes} pairs; vocabularies {info['source_vocab']} → "
                f"{info['target_vocab']}\n{options.layers} x {options.hidden} {kind}, "
                f"{parameters(prepared.model):,} parameters, {prepared.task.num_batches():,} updates per epoch")

    def format_metrics(self, metrics: dict) -> str:
        return (f"exact match {100 * metrics['exact_match']:.2f}%, token accuracy "
                f"{100 * metrics['token_accuracy']:.2f}% (teacher-forced), loss {metrics['loss']:.4f}")

    def vocab_sizes(self, model_config) -> dict[str, int]:
        return {"source": model_config.get("src_vocab_size"), "target": model_config.get("tgt_vocab_size")}

    def rebuild(self, model_config, vocabs) -> Seq2Seq:
        return Seq2Seq.from_config(model_config)

    def outputs(self, trained, texts, sequences, options: TranslateOptions) -> Iterator[str]:
        """Greedy (--beam 1) or beam-search outputs; the run's beam and length penalty by default."""
        run = trained.options
        beam = run.beam if options.beam is None else options.beam
        alpha = run.length_penalty if options.length_penalty is None else options.length_penalty
        outputs = translate(trained.model, trained.vocabs["source"], trained.vocabs["target"], sequences,
                            beam_size=beam, max_len=options.max_len, length_penalty=alpha)
        join = "".join if self.level(run) == "char" else " ".join
        for text, out in zip(texts, outputs):
            yield (json.dumps({"source": text, "output": join(out)}) if options.json else join(out)) + "\n"


RECIPE = Seq2SeqRecipe()
