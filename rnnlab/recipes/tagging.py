"""The slot-filling recipe: options → tagged sentences, word features, `Tagger` and `TaggingTask`.

Data (`--data DIR`) is read in whichever layout the directory has: ATIS's (`train/seq.in`,
`seq.out`, `label`, per split), or one file per split named `train`, `valid`, `test` with
`.txt`, `.tsv` or `.conll` — each either CoNLL-style (one `word … tag` per line, blank lines
between sentences) or one sentence per line (`words<TAB>tags[<TAB>intent]`), told apart by
their lines. Without --data the built-in flight-booking corpus is generated. Vocabularies come
from the training split: words (those seen fewer than min_count times map to <unk>, so that
its embedding is trained), letter trigrams, tags ("O" first) and intents.
"""
from __future__ import annotations

from pathlib import Path

from rnnlab.cells.registry import CELLS
from rnnlab.data.tagged import TaggedExample, read_atis, read_conll, read_tab_tagged
from rnnlab.data.vocab import Vocabulary
from rnnlab.data.words import WordEncoder
from rnnlab.layers.word_features import WordFeatures
from rnnlab.errors import CheckpointError, ConfigError, DataError, DataNotFoundError
from rnnlab.recipes.recipe import Prepared, check_choice, fingerprint, load_vocabs, split_sizes
from rnnlab.recipes.run_dir import RunDir
from rnnlab.tagging.model import Tagger
from rnnlab.tagging.predict import SlotFiller
from rnnlab.tagging.task import TaggingTask
from rnnlab.datasets.flights import flight_corpus
from rnnlab.train.checkpoint import load_weights
from rnnlab.train.trainer import seed_everything

TASKS = ("tagging",)
DATASETS = ("flights",)
VOCABS = ("words", "trigrams", "tags", "intents")
FEEDBACK = {"off": False, "onehot": True, "softmax": "softmax"}
USE = 'tag with: rnnlab tag {run} "i would like to arrive taipei on november 2nd"'
SUFFIXES = (".txt", ".tsv", ".conll")


def validate(options: dict) -> None:
    if options["cell"] not in CELLS and options["cell"] != "none":
        raise ConfigError(f"unknown cell {options['cell']!r}; choose one of: {', '.join(CELLS)}, "
                          f"or none (no recurrence: each word tagged from its own features)")
    check_choice(options, "jordan_feedback", FEEDBACK)
    check_choice(options, "pool", ("last", "mean"))
    if options["data"] is None:
        check_choice({"dataset": options["dataset"] or DATASETS[0]}, "dataset", DATASETS)
    elif options["dataset"] is not None:
        raise ConfigError("--dataset names built-in data; drop it when giving --data")


def load_examples(options: dict) -> tuple[dict[str, list[TaggedExample]], dict]:
    """The tagged sentences of each split, and where they came from (with fingerprints)."""
    if options["data"] is None:
        n_train, n_valid, n_test = split_sizes(options["train_examples"] or 2000)
        splits = flight_corpus(n_train, n_valid, n_test, seed=options["data_seed"])
        info = {"source": "built-in:flights"}
    else:
        splits, layout = read_tagged_dir(options["data"])
        info = {"source": str(options["data"]), "layout": layout}
    if "valid" not in splits:
        raise DataNotFoundError(f"{options['data']}: no validation split (valid)")
    info["sha256"] = {s: fingerprint([[ex.words, ex.tags, ex.intent] for ex in exs]) for s, exs in splits.items()}
    info["sentences"] = {s: len(exs) for s, exs in splits.items()}
    return splits, info


def read_tagged_dir(path) -> tuple[dict[str, list[TaggedExample]], str]:
    """(splits, layout name) of a data directory in ATIS, CoNLL or tab layout."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DataNotFoundError(f"data directory {root} {'is a file' if root.exists() else 'does not exist'}")
    if (root / "train").is_dir():
        return read_atis(root), "atis"
    splits, layouts = {}, set()
    for split in ("train", "valid", "test"):
        files = [root / f"{split}{suffix}" for suffix in SUFFIXES if (root / f"{split}{suffix}").is_file()]
        if split == "valid" and not files:
            files = [root / f"dev{suffix}" for suffix in SUFFIXES if (root / f"dev{suffix}").is_file()]
        if len(files) > 1:
            raise DataError(f"{root}: more than one file for the {split} split: {', '.join(f.name for f in files)}")
        if not files:
            if split == "test":
                continue
            raise DataNotFoundError(f"{root}: no {split} data; expected {split}/seq.in (ATIS layout) or "
                                    f"{split}.txt / .tsv / .conll")
        layout = sniff_layout(files[0])
        layouts.add(layout)
        splits[split] = read_tab_tagged(files[0]) if layout == "tab" else read_conll(files[0])
    return splits, "+".join(sorted(layouts))


def sniff_layout(file: Path) -> str:
    """'tab' when lines look like `words<TAB>tags` (several words before the tab), else 'conll'."""
    with open(file, encoding="utf-8", errors="replace") as f:
        lines = [line.rstrip("\n") for _, line in zip(range(200), f) if line.strip()]
    tab = [line.split("\t") for line in lines if "\t" in line]
    several = any(len(fields) in (2, 3) and len(fields[0].split()) > 1 and
                  len(fields[0].split()) == len(fields[1].split()) for fields in tab)
    return "tab" if lines and len(tab) == len(lines) and several else "conll"


def make_model(options: dict, words: Vocabulary, trigrams: Vocabulary | None, num_tags: int,
               num_intents: int) -> Tagger:
    embedding = options["hidden"] if options["embedding"] is None else options["embedding"]
    features = WordFeatures(words, trigrams, one_hot=embedding == 0, trigrams=options["trigrams"],
                            embedding_size=embedding, projection=options["projection"])
    return Tagger.build(features, num_tags, cell=None if options["cell"] == "none" else options["cell"],
                  hidden_size=options["hidden"], num_layers=options["layers"],
                  bidirectional=options["bidirectional"], dropout=options["dropout"],
                  jordan_feedback=FEEDBACK[options["jordan_feedback"]],
                  num_intents=num_intents if options["intent"] else 0, intent_from=options["pool"])


def prepare(options: dict, vocabs: dict[str, Vocabulary] | None = None) -> Prepared:
    """Everything a training run needs. Pass the run's saved vocabularies when resuming."""
    validate(options)
    splits, info = load_examples(options)
    vocabs = dict(vocabs or {})
    if "words" not in vocabs:
        built = WordEncoder.build([ex.words for ex in splits["train"]], min_count=options["min_count"],
                                  trigrams=options["trigrams"])
        vocabs["words"] = built.word_vocab
        if built.trigram_vocab is not None:
            vocabs["trigrams"] = built.trigram_vocab
    if options["trigrams"] and "trigrams" not in vocabs:
        raise CheckpointError("the run uses letter trigrams but its trigram vocabulary is missing")
    encoder = WordEncoder(vocabs["words"], vocabs.get("trigrams") if options["trigrams"] else None)
    task = TaggingTask(splits, encoder, batch_size=options["batch_size"], seed=options["seed"],
                       eval_batch_size=options["eval_batch_size"], tag_vocab=vocabs.get("tags"),
                       intent_vocab=vocabs.get("intents") if options["intent"] else None,
                       bio_decoding=options["bio_decoding"])
    vocabs["tags"] = task.tag_vocab
    if task.intent_vocab is not None:
        vocabs["intents"] = task.intent_vocab
    seed_everything(options["seed"])  # the model's initial weights depend on it
    model = make_model(options, vocabs["words"], vocabs.get("trigrams"), task.num_tags, task.num_intents)
    info.update(words=len(vocabs["words"]), tags=task.num_tags, intents=task.num_intents)
    return Prepared(model, task, vocabs, info)


def load(run: RunDir, weights: str = "best") -> tuple[Tagger, SlotFiller, dict]:
    """The trained tagger of a run directory (eval mode), a `SlotFiller` around it, and the config."""
    config = run.load_config()
    if config["options"].get("task") not in TASKS:
        raise ConfigError(f"{run.path} is a {config['options'].get('task')!r} run, not a tagging run")
    vocabs = load_vocabs(run, VOCABS, required=("words", "tags"))
    model = Tagger.from_config(config["model"], vocabs["words"], vocabs.get("trigrams"))
    load_weights(model, run.weights(weights))
    model.eval()
    intents = vocabs.get("intents") if model.num_intents else None
    filler = SlotFiller(model, vocabs["tags"], intents, batch_size=config["options"]["eval_batch_size"],
                        bio_decoding=config["options"]["bio_decoding"])
    return model, filler, config


def describe(prepared: Prepared, options: dict) -> str:
    info = prepared.data_info
    params = sum(p.numel() for p in prepared.model.parameters())
    source = "the built-in flight corpus" if info["source"] == "built-in:flights" else info["source"]
    sizes = ", ".join(f"{s} {n:,}" for s, n in info["sentences"].items())
    kind = ("bidirectional " if options["bidirectional"] else "") + options["cell"]
    if options["jordan_feedback"] != "off":
        kind += f" + tag feedback ({options['jordan_feedback']})"
    return (f"tagging on {source}: {sizes} sentences; {info['words']:,} words, {info['tags']} tags, "
            f"{info['intents']} intents\n"
            f"{options['layers']} x {options['hidden']} {kind}, {params:,} parameters, "
            f"{prepared.task.num_batches():,} updates per epoch")


def format_metrics(metrics: dict) -> str:
    out = (f"slot F1 {100 * metrics['slot_f1']:.2f} (precision {100 * metrics['slot_precision']:.2f}, "
           f"recall {100 * metrics['slot_recall']:.2f}), token accuracy {100 * metrics['token_accuracy']:.2f}")
    if "intent_accuracy" in metrics:
        out += f", intent accuracy {100 * metrics['intent_accuracy']:.2f}"
    return out + f", loss {metrics['loss']:.4f}"
