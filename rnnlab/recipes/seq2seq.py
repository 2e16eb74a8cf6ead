"""The encoder–decoder recipe: options → (source, target) pairs, vocabularies, `Seq2Seq` and
`Seq2SeqTask`.

Built-in data (`--dataset`): reverse a string, sort digits, or translate a written date
("november 2nd 2019", "2/11/2019", …) to ISO form — character level, generated in code. With
`--data DIR`, `source<TAB>target` lines in {train,valid,test}.tsv/.txt, at character or word
level (`--level`); then the vocabularies get an <unk> for tokens unseen in training. The decoder
is fed the true previous token with a probability given by a schedule (`--teacher-forcing`,
`--tf-k`, `--tf-c`, `--tf-floor`; Bengio et al. 2015); evaluation decodes greedily or with a
beam (`--beam`, `--length-penalty`) and reports exact match.
"""
from __future__ import annotations

from rnnlab.data.pairs import LEVELS, read_pairs_dir
from rnnlab.data.vocab import Vocabulary
from rnnlab.errors import ConfigError, DataError
from rnnlab.recipes.recipe import Prepared, check_cell, check_choice, check_data_options, fingerprint, load_trained, split_sizes
from rnnlab.recipes.run_dir import RunDir
from rnnlab.seq2seq.model import Seq2Seq
from rnnlab.seq2seq.task import SCHEDULES, SamplingSchedule, Seq2SeqTask, build_vocabularies
from rnnlab.datasets.transduction import TRANSDUCTION_DATASETS, transduction_data
from rnnlab.train.trainer import seed_everything

TASKS = ("seq2seq",)
VOCABS = ("source", "target")
USE = 'translate with: rnnlab translate {run} "november 2nd 2019"'


def dataset(options: dict) -> str:
    return options["dataset"] or "dates"


def level(options: dict) -> str:
    return "char" if options["data"] is None else options["level"] or "char"


def validate(options: dict) -> None:
    check_cell(options)
    check_choice(options, "teacher_forcing", SCHEDULES)
    schedule(options)
    if options["beam"] < 1:
        raise ConfigError(f"beam must be >= 1, got {options['beam']}")
    check_data_options(options, TRANSDUCTION_DATASETS, LEVELS, file_level="char")


def schedule(options: dict) -> SamplingSchedule:
    return SamplingSchedule(options["teacher_forcing"], k=options["tf_k"], c=options["tf_c"],
                            epsilon=options["tf_floor"])


def load_pairs(options: dict) -> tuple[dict, dict]:
    if options["data"] is None:
        n_train, n_valid, n_test = split_sizes(options["train_examples"] or 10_000)
        splits = transduction_data(dataset(options), n_train, n_valid, n_test, seed=options["data_seed"],
                                   min_len=options["min_len"], max_len=options["max_len"])
        info = {"source": f"built-in:{dataset(options)}"}
    else:
        splits = read_pairs_dir(options["data"], level(options))
        info = {"source": str(options["data"]), "level": level(options)}
    info["sha256"] = {s: fingerprint([[list(x), list(y)] for x, y in pairs]) for s, pairs in splits.items()}
    info["pairs"] = {s: len(pairs) for s, pairs in splits.items()}
    return splits, info


def prepare(options: dict, vocabs: dict[str, Vocabulary] | None = None) -> Prepared:
    validate(options)
    splits, info = load_pairs(options)
    if vocabs and "source" in vocabs and "target" in vocabs:
        src, tgt = vocabs["source"], vocabs["target"]
    else:  # generated data has no unseen tokens; files may
        src, tgt = build_vocabularies(splits["train"], unk=None if options["data"] is None else "<unk>")
    try:
        task = Seq2SeqTask(splits, src, tgt, batch_size=options["batch_size"], seed=options["seed"],
                           teacher_forcing=schedule(options), eval_batch_size=options["eval_batch_size"],
                           beam_size=options["beam"], length_penalty=options["length_penalty"])
    except DataError as e:
        raise DataError(f"{info['source']}: {e}") from None
    seed_everything(options["seed"])
    model = Seq2Seq.build(len(src), len(tgt), cell=options["cell"], hidden_size=options["hidden"],
                    num_layers=options["layers"], embedding_size=options["embedding"],
                    bidirectional=options["bidirectional"], attention=options["attention"],
                    context_input=options["context_input"], dropout=options["dropout"],
                    pad_index=tgt.index("<pad>"), bos_index=tgt.index("<bos>"), eos_index=tgt.index("<eos>"))
    info.update(source_vocab=len(src), target_vocab=len(tgt))
    return Prepared(model, task, {"source": src, "target": tgt}, info)


def load(run: RunDir, weights: str = "best") -> tuple[Seq2Seq, dict[str, Vocabulary], dict]:
    return load_trained(run, TASKS, VOCABS, weights, Seq2Seq.from_config)


def describe(prepared: Prepared, options: dict) -> str:
    info = prepared.data_info
    params = sum(p.numel() for p in prepared.model.parameters())
    sizes = ", ".join(f"{s} {n:,}" for s, n in info["pairs"].items())
    kind = ("bidirectional " if options["bidirectional"] else "") + options["cell"]
    kind += " with attention" if options["attention"] else " without attention"
    return (f"seq2seq on {info['source']}: {sizes} pairs; vocabularies {info['source_vocab']} → "
            f"{info['target_vocab']}\n{options['layers']} x {options['hidden']} {kind}, {params:,} parameters, "
            f"{prepared.task.num_batches():,} updates per epoch")


def format_metrics(metrics: dict) -> str:
    return (f"exact match {100 * metrics['exact_match']:.2f}%, token accuracy {100 * metrics['token_accuracy']:.2f}% "
            f"(teacher-forced), loss {metrics['loss']:.4f}")
