"""The explorer service: one model, its recorded examples, and the analyses the page asks for.

    explorer = Explorer(model, vocab, "char", [("line 1", list("aaXbb\\n")), ...])   # a language model
    explorer = tagger_explorer(model, filler, [("valid 1", tagged_example), ...])    # a sequence tagger
    explorer.info(); explorer.example(0, keys); explorer.analyze("typed text")
    explorer.search({"hypothesis": {...}}); explorer.select({"example", "key", "start", "end"})

No HTTP here: every public method takes and returns plain JSON-able values, and bad input raises
`DataError`. `rnnlab.explore.http` serves it; `rnnlab.explore.export` writes it into one file.

What is recorded is pluggable: `Explorer(..., recorder=fn, kind=...)` records examples (and typed
text, as token lists) with `fn`; `kind` tells the page what the predictions are — the next token
("language-model") or each word's tag ("tagger", whose examples may carry an intent).
Typed text is cut at MAX_INPUT_TOKENS tokens; model calls run one at a time under a lock.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from rnnlab.data import tokenize
from rnnlab.errors import ConfigError, DataError
from rnnlab.explore.bounded_regex import RegexMatcher
from rnnlab.explore.record import Recording, record_examples
from rnnlab.explore.record_tagger import record_tagger
from rnnlab.explore.saturation import gate_saturation, saturation_json
from rnnlab.explore.hypotheses import (
    Hypothesis, counter_hypothesis, function_hypothesis, position_hypothesis, preset_hypotheses, spans_hypothesis,
)
from rnnlab.explore.search import find_matches, rank_units, select_units, suggest_threshold, value_distribution

MAX_BODY = 64 * 1024        # bytes of a request body; the transport refuses more (413), the page is told
MAX_INPUT_TOKENS = 2_000    # tokens of typed text recorded per request; the rest is cut off
MAX_TYPED = 20              # typed examples kept; the oldest goes first
MAX_TOP = 200               # most units one search or selection lists
REGEX_SECONDS = 1.0         # a typed regular expression gets this long over all examples, then is stopped
KINDS = ("language-model", "tagger", "ntm", "memn2n", "signal")  # what the model's predictions are: the next token, or
# each word's tag; an NTM's steps (its memory panel: read/write heatmaps) or a memory network's sentences (attention per
# hop); "signal": frames of an utterance or steps of a signal (signal.js: every layer as a heatmap over time)
RecordFn = Callable[[list], list[Recording]]  # examples (token lists, or what `examples` holds) → Recordings


@dataclass(eq=False)
class Example:
    """One shown example: its id (stable while it is kept), name, recording, and whether it was typed."""

    id: int
    name: str
    recording: Recording
    typed: bool = False


class Explorer:
    """What the page looks at: one model, its recorded examples, and the analyses on them.

    `examples` are (name, example) pairs, each recorded from a fresh state by `recorder` (default:
    `record_examples` of a language model, so an example is a token list). Typed text is split
    into tokens (`tokenize(text, level)`; a tagger: on whitespace) and recorded by the same
    `recorder`. `kind` is one of KINDS. Every public method takes and returns plain JSON-able
    values; bad input raises `DataError` (HTTP 400).
    """

    def __init__(self, model, vocab, level: str, examples: Sequence[tuple[str, Sequence[str]]], *,
                 hypotheses: dict[str, Hypothesis] | None = None, about: dict | None = None,
                 recorder: RecordFn | None = None, kind: str = "language-model"):
        if not examples:
            raise DataError("the explorer needs at least one example to show")
        if kind not in KINDS:
            raise ConfigError(f"unknown explorer kind {kind!r}; choose one of: {', '.join(KINDS)}")
        self.model, self.vocab, self.level, self.kind = model, vocab, level, kind
        self.recorder = recorder or (lambda items: record_examples(model, vocab, [list(t) for t in items]))
        self.about = dict(about or {})
        self.hypotheses = preset_hypotheses(level) if hypotheses is None else dict(hypotheses)
        self._model_lock = threading.Lock()  # one model call at a time
        self._lock = threading.Lock()        # guards the examples table
        self.regex = RegexMatcher(REGEX_SECONDS)  # typed patterns run in killable processes, never here
        recordings = self.recorder([example for _, example in examples])
        self._examples = {i: Example(i, name, rec) for i, ((name, _), rec) in enumerate(zip(examples, recordings))}
        self._next_id = len(self._examples)
        self.keys = recordings[0].keys()
        if not self.keys:
            raise ConfigError("the model recorded no values to show (it has no recurrent layer with a state)")
        self.units = {key: recordings[0].units(key) for key in self.keys}
        try:
            self.saturation = saturation_json(gate_saturation(recordings))
        except DataError:  # a cell without gates (Elman, Jordan, ...)
            self.saturation = None

    def close(self) -> None:
        """Ends the processes that match typed regular expressions (new ones start if needed)."""
        self.regex.close()

    # --- reading -------------------------------------------------------------------------------

    def examples(self) -> list[Example]:
        with self._lock:
            return list(self._examples.values())

    def get(self, example_id) -> Example:
        if isinstance(example_id, bool) or not isinstance(example_id, int):
            raise DataError(f"example must be an integer id, got {example_id!r}")
        with self._lock:
            found = self._examples.get(example_id)
        if found is None:
            raise DataError(f"no example {example_id} (it may have been replaced by newer typed text)")
        return found

    def info(self) -> dict:
        layers = list(dict.fromkeys(key.rsplit("/", 1)[0] for key in self.keys))
        return {
            "about": self.about, "kind": self.kind, "level": self.level, "keys": self.keys, "units": self.units, "layers": layers,
            "kinds": {layer: [k.rsplit("/", 1)[1] for k in self.keys if k.rsplit("/", 1)[0] == layer]
                      for layer in layers},
            "examples": [self._summary(e) for e in self.examples()],
            "hypotheses": list(self.hypotheses),
            "limits": {"body_bytes": MAX_BODY, "tokens": MAX_INPUT_TOKENS},
            "static": False,
        }

    def _summary(self, e: Example) -> dict:
        tokens = e.recording.tokens
        text = "".join(tokens[:60]) if self.level == "char" else " ".join(tokens[:15])
        preview = text.replace("\n", "↵ ").replace("<eos>", "↵")[:40]
        return {"id": e.id, "name": e.name, "length": len(e.recording), "typed": e.typed, "preview": preview}

    def example(self, example_id: int, keys: Sequence[str] | None = None) -> dict:
        """One example for the page; `keys` None sends every value (large for big models)."""
        e = self.get(example_id)
        keys = self.keys if keys is None else list(keys)
        unknown = [k for k in keys if k not in self.units]
        if unknown:
            raise DataError(f"no recorded values {unknown[0]!r}; have: {', '.join(self.keys)}")
        return {"id": e.id, "name": e.name, "typed": e.typed, **e.recording.to_json(keys=keys)}

    # --- new input -----------------------------------------------------------------------------

    def analyze(self, text: str, keys: Sequence[str] | None = ()) -> dict:
        """Record typed text as a new example; returns it (values of `keys` only) and what was cut."""
        if not isinstance(text, str) or not text.strip():
            raise DataError("'text' must be a non-empty string")
        tokens = text.split() if self.kind != "language-model" else tokenize(text, self.level)
        truncated = len(tokens) > MAX_INPUT_TOKENS
        tokens = tokens[:MAX_INPUT_TOKENS]
        # a signal's tokens are a WAV path or numbers, read by its recorder: no vocabulary to miss
        unknown = sorted({t for t in tokens if t not in self.vocab}) if self.kind != "signal" else []
        if unknown and self.vocab.unk is None:
            raise DataError(f"the text contains tokens the model does not know: {unknown[:5]}")
        with self._model_lock:
            recording = self.recorder([tokens])[0]
        with self._lock:
            example = Example(self._next_id, f"typed {self._next_id}", recording, typed=True)
            self._next_id += 1
            self._examples[example.id] = example
            typed = [i for i, e in self._examples.items() if e.typed]
            for i in typed[:-MAX_TYPED]:
                del self._examples[i]
        out = self.example(example.id, keys)
        out.update(truncated=truncated, unknown=unknown[:10], examples=[self._summary(e) for e in self.examples()])
        return out

    # --- hypotheses ----------------------------------------------------------------------------

    def _token_set(self, spec, field: str) -> set[str] | None:
        r"""Typed token lists: characters of the text (char level) or its words; \n and \t escapes."""
        if spec is None or spec == "":
            return None
        if not isinstance(spec, str):
            raise DataError(f"'{field}' must be a string")
        if self.level == "word":
            return set(spec.replace("\\n", " <eos> ").split())
        return set(spec.replace("\\n", "\n").replace("\\t", "\t").replace("\\s", " "))

    def hypothesis(self, spec) -> tuple[str, Hypothesis]:
        """A description and a function tokens → one value per token, from the request's spec."""
        if not isinstance(spec, dict):
            raise DataError("'hypothesis' must be an object with a 'kind'")
        kind = spec.get("kind")
        if kind == "named":
            name = spec.get("name")
            if name not in self.hypotheses:
                raise DataError(f"unknown hypothesis {name!r}; choose one of: {', '.join(self.hypotheses)}")
            return name, self.hypotheses[name]
        if kind == "regex":
            pattern = spec.get("pattern")
            if not isinstance(pattern, str) or not pattern:
                raise DataError("a regex hypothesis needs a non-empty 'pattern'")
            return f"regex {pattern}", _TypedRegex(self.regex, pattern, words=self.level == "word")
        if kind == "counter":
            up, down = self._token_set(spec.get("up"), "up"), self._token_set(spec.get("down"), "down")
            reset = self._token_set(spec.get("reset"), "reset")
            if not up:
                raise DataError("a counter hypothesis needs 'up' tokens")
            return (f"counter +{sorted(up)} -{sorted(down or ())} reset {sorted(reset or ())}",
                    lambda t: counter_hypothesis(t, up, down, reset))
        if kind == "position":
            reset = self._token_set(spec.get("reset"), "reset") or {"<eos>" if self.level == "word" else "\n"}
            return f"position since {sorted(reset)}", lambda t: position_hypothesis(t, reset)
        raise DataError(f"unknown hypothesis kind {kind!r}; choose one of: regex, counter, position, named")

    def search(self, body: dict) -> dict:
        """Units ranked by |r| with a hypothesis over every example (optionally some kinds only)."""
        label, fn = self.hypothesis(body.get("hypothesis"))
        top = _int(body, "top", 20, 1, MAX_TOP)
        keys = self.keys
        kinds = body.get("kinds")
        if kinds:
            if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
                raise DataError("'kinds' must be a list of strings such as [\"h\", \"c\"]")
            keys = [k for k in self.keys if k.rsplit("/", 1)[1] in kinds]
            if not keys:
                raise DataError(f"no recorded values of kinds {kinds}; have: {', '.join(self.keys)}")
        examples = self.examples()
        recordings = [e.recording for e in examples]
        many = getattr(fn, "many", None)  # a typed regex: every example in one bounded call
        hyps = many([r.tokens for r in recordings]) if many else [function_hypothesis(r.tokens, fn) for r in recordings]
        scores = rank_units(recordings, hyps, keys=keys, top=top)
        out = {"label": label, "units": [{"key": s.key, "unit": s.unit, "r": round(s.r, 4)} for s in scores]}
        if body.get("example") is not None:  # the hypothesis itself on the shown example, as a track
            shown = self.get(body["example"])
            out["example"] = shown.id
            out["values"] = [round(float(v), 4) for v in hyps[[e.id for e in examples].index(shown.id)]]
        return out

    # --- select and match (LSTMVis) ------------------------------------------------------------

    def select(self, body: dict) -> dict:
        example = self.get(body.get("example"))
        key = body.get("key")
        if key not in self.units:
            raise DataError(f"'key' must be one of: {', '.join(self.keys)}")
        values = example.recording.values[key]
        start = _int(body, "start", None, 0, len(example.recording) - 1)
        end = _int(body, "end", None, start + 1, len(example.recording))
        suggested = suggest_threshold(values, start, end)
        threshold = body.get("threshold")
        if threshold is None:
            threshold = suggested
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not np.isfinite(threshold):
            raise DataError("'threshold' must be a number")
        units = select_units(values, start, end, float(threshold), off_margin=_int(body, "off_margin", 1, 0, 100))
        matches = []
        if units:
            examples = self.examples()
            found = find_matches([e.recording.values[key] for e in examples], units, float(threshold),
                                 min_length=min(2, end - start), top=_int(body, "top", 20, 1, MAX_TOP))
            for m in found:
                e = examples[m.example]
                matches.append({"example": e.id, "name": e.name, "start": m.start, "end": m.end,
                                "score": round(m.score, 4), **self._context(e.recording.tokens, m.start, m.end)})
        return {"key": key, "start": start, "end": end, "threshold": float(threshold),
                "suggested": round(suggested, 4), "distribution": value_distribution(values, start, end),
                "units": units, "matches": matches}

    def _context(self, tokens: list[str], start: int, end: int) -> dict:
        """A match's text with a little context: 12 characters or 4 words either side."""
        around = 12 if self.level == "char" else 4
        join = "".join if self.level == "char" else " ".join
        return {"before": join(tokens[max(0, start - around):start]), "text": join(tokens[start:end]),
                "after": join(tokens[end:end + around])}


def tagger_explorer(model, filler, examples: Sequence[tuple[str, object]], *, top_k: int = 5,
                    hypotheses: dict[str, Hypothesis] | None = None, about: dict | None = None) -> Explorer:
    """An `Explorer` of a `Tagger` with its `SlotFiller` (vocabularies and encoder): `examples` are
    (name, `TaggedExample` or list of words) pairs — gold tags and intent show where given."""
    def record(items: list) -> list[Recording]:
        return record_tagger(model, filler.encoder, filler.tag_vocab, items, top_k, intent_vocab=filler.intent_vocab,
                             bio_decoding=filler.bio is not None)
    return Explorer(model, model.features.word_vocab, "word", examples, hypotheses=hypotheses, about=about,
                    recorder=record, kind="tagger")


class _TypedRegex:
    """A regex hypothesis typed on the page: tokens → 1.0 where a match overlaps the token.

    Matched by `matcher` (time-bounded, in another process) over "".join(tokens), or for words
    over "w1 w2 w3 " (words are not glued together); `many` matches many token lists in one call.
    """

    def __init__(self, matcher: RegexMatcher, pattern: str, words: bool):
        self.matcher, self.pattern, self.words = matcher, pattern, words

    def many(self, token_lists: Sequence[Sequence[str]]) -> list[np.ndarray]:
        token_lists = [[w + " " for w in t] if self.words else list(t) for t in token_lists]
        spans = self.matcher.spans(self.pattern, ["".join(t) for t in token_lists])
        return [spans_hypothesis(t, s) for t, s in zip(token_lists, spans)]

    def __call__(self, tokens: Sequence[str]) -> np.ndarray:
        return self.many([tokens])[0]


def _int(body: dict, name: str, default, low: int, high: int) -> int:
    value = body.get(name, default)
    if value is None:
        raise DataError(f"'{name}' is required")
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise DataError(f"'{name}' must be an integer in [{low}, {high}], got {value!r}")
    return value
