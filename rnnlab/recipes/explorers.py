"""`rnnlab explore` for the recipes that support it: the examples to record and the explorer.

A language model's examples come from, in this order of precedence: a text file (`--text`),
lines of a generated memory task (`--dataset NAME`, with that task's hypotheses), or the run's
own validation text. Text is split into examples, each recorded from a fresh state: on blank
lines (paragraphs), or, for a text without blank lines (a sentence per line, as in PTB), one
example per line; an example longer than `max_tokens` is cut into pieces. A tagger shows its
validation sentences with their gold tags, or a text file's lines (a sentence each).
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from rnnlab.data import tokenize
from rnnlab.data.tagged import TaggedExample
from rnnlab.errors import ConfigError, DataError, DataNotFoundError
from rnnlab.recipes.common import check_known
from rnnlab.recipes.recipe import ExploreRequest, Trained


def split_examples(text: str, level: str, max_examples: int, max_tokens: int) -> list[list[str]]:
    """Paragraphs (or lines, if there are no blank lines) as token lists, long ones cut in pieces."""
    text = text.replace("\r\n", "\n")
    blocks = [b for b in re.split(r"\n[ \t]*\n", text) if b.strip()]
    if len(blocks) <= 1:
        blocks = [line for line in text.split("\n") if line.strip()]
    examples = []
    for block in blocks:
        tokens = tokenize(block.strip("\n") + "\n", level)
        for start in range(0, len(tokens), max_tokens):
            piece = tokens[start:start + max_tokens]
            if len(piece) >= 2:
                examples.append(piece)
            if len(examples) == max_examples:
                return examples
    return examples


def read_text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataNotFoundError(f"text file not found: {path}") from None
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text") from None
    except OSError as e:  # a directory, no permission, ...
        raise DataError(f"cannot read {path}: {e.strerror or e}") from None


def _lm_examples(trained: Trained, request: ExploreRequest, level: str):
    """(name, tokens) pairs, the dataset's hypotheses (None: the presets) and a description of the source."""
    from rnnlab.recipes.language_model import load_texts
    options = trained.options
    if request.dataset:
        from rnnlab.datasets.synthetic import SYNTHETIC_DATASETS, synthetic_sequences
        from rnnlab.explore.hypotheses import dataset_hypotheses
        name = request.dataset
        if name not in SYNTHETIC_DATASETS:
            raise ConfigError(f"unknown synthetic task {name!r}; choose one of: {', '.join(SYNTHETIC_DATASETS)}")
        if level != "char":
            raise ConfigError(f"synthetic tasks are character sequences, but {trained.run.path} is a {level}-level model")
        lines = synthetic_sequences(name, request.examples, seed=0)
        return [(f"{name} {k + 1}", list(line)) for k, line in enumerate(lines)], dataset_hypotheses(name), f"task {name}"
    if request.text:
        text = read_text(request.text)
        source, prefix = os.path.basename(request.text), "text"
    else:
        try:
            texts, _ = load_texts(options)
        except DataNotFoundError as e:
            raise DataNotFoundError(f"{e} (the run's data has moved? pass --text FILE or --dataset NAME)") from None
        if "valid" not in texts:
            raise DataNotFoundError("the run's data has no validation split; pass --text FILE or --dataset NAME")
        text, prefix = texts["valid"], "valid"
        source = "validation text" + (" of the built-in corpus" if options.data is None else f" of {options.data}")
    examples = split_examples(text, level, request.examples, request.max_tokens)
    if not examples:
        raise DataError(f"no text to explore in {request.text or 'the validation split'}")
    return [(f"{prefix} {k + 1}", ex) for k, ex in enumerate(examples)], None, source


def language_model_explorer(trained: Trained, request: ExploreRequest, level: str):
    from rnnlab.explore.service import Explorer
    vocab = trained.vocabs["vocab"]
    examples, hypotheses, source = _lm_examples(trained, request, level)
    check_known("explore", [ex for _, ex in examples], vocab)
    tokens = sum(len(t) for _, t in examples)
    print(f"rnnlab explore: recording {len(examples)} examples ({tokens:,} tokens) from the {source}", file=sys.stderr)
    m = trained.config["model"]
    about = {"run": str(trained.run.path), "source": source,
             "model": f"{m['num_layers']} × {m['hidden_size']} {m['cell']}, {level} level, vocabulary {len(vocab):,}"}
    return Explorer(trained.model, vocab, level, examples, hypotheses=hypotheses, about=about)


def _tagger_examples(trained: Trained, request: ExploreRequest):
    """(name, sentence) pairs — validation sentences with gold tags, or --text lines without — and the source."""
    from rnnlab.recipes.tagging import load_examples
    options, cut = trained.options, request.max_tokens
    if request.text:
        lines = [line.split() for line in read_text(request.text).splitlines() if line.strip()]
        sentences: list = [words[:cut] for words in lines[:request.examples]]
        prefix, source = "text", os.path.basename(request.text)
    else:
        try:
            splits, _ = load_examples(options)
        except DataNotFoundError as e:
            raise DataNotFoundError(f"{e} (the run's data has moved? pass --text FILE, a sentence per line)") from None
        sentences = [TaggedExample(ex.words[:cut], ex.tags[:cut], ex.intent) for ex in splits["valid"][:request.examples]]
        prefix = "valid"
        source = ("validation sentences" + (" of the built-in flight corpus" if options.data is None
                                             else f" of {options.data}"))
    if not sentences:
        raise DataError(f"no sentences to explore in {request.text or 'the validation split'}")
    return [(f"{prefix} {k + 1}", s) for k, s in enumerate(sentences)], source


def tagger_explorer(trained: Trained, request: ExploreRequest):
    from rnnlab.explore.service import tagger_explorer as make
    path, m, filler = trained.run.path, trained.config["model"], trained.predictor
    if request.dataset:
        raise ConfigError(f"{request.flag} gives synthetic-task lines for a character language model; {path} is a "
                          f"tagging run (pass --text FILE, a sentence per line, or nothing for its validation sentences)")
    if m.get("cell") is None:
        raise ConfigError(f"{path} is a tagger without recurrence (--cell none): it has no states to explore")
    examples, source = _tagger_examples(trained, request)
    check_known("explore", [getattr(s, "words", s) for _, s in examples], trained.vocabs["words"])
    words = sum(len(getattr(s, "words", s)) for _, s in examples)
    print(f"rnnlab explore: recording {len(examples)} sentences ({words:,} words) from the {source}", file=sys.stderr)
    kind = ("bidirectional " if m["bidirectional"] else "") + m["cell"]
    if m.get("jordan_feedback"):
        kind += " + tag feedback"
    model_line = f"{m['num_layers']} × {m['hidden_size']} {kind} tagger, {filler.num_tags} tags"
    if filler.num_intents:
        model_line += f", {filler.num_intents} intents"
    about = {"run": str(trained.run.path), "source": source, "model": model_line}
    return make(trained.model, filler, examples, about=about)
