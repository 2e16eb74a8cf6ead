"""The explorer's web server: a JSON API over the recordings of one model, and the page that uses it.

    explorer = Explorer(model, vocab, "char", [("line 1", list("aaXbb\\n")), ...])   # a language model
    explorer = tagger_explorer(model, filler, [("valid 1", tagged_example), ...])    # a sequence tagger
    server = make_server(explorer, port=0)          # 127.0.0.1, an ephemeral port
    server.serve_forever()

What is recorded is pluggable: `Explorer(..., recorder=fn, kind=...)` records examples (and typed
text, as token lists) with `fn`; `kind` tells the page what the predictions are — the next token
("language-model") or each word's tag ("tagger", whose examples may carry an intent).

Routes (JSON in and out; errors are {"error": "..."} with status 400, 404, 405, 411, 413 or 415):

    GET  /                     the page;  GET /static/app.js, /static/style.css  its code
    GET  /api/info             model kind, value keys and unit counts, the examples, the named hypotheses
    GET  /api/example?id=N&keys=K1,K2   one example: tokens, predictions, targets, values of keys K
                               (taggers: also labels and "intent")
    GET  /api/saturation       gate saturation over the dataset (`saturation_json`; null without gates)
    POST /api/analyze          {"text"} → record it as a new example (kept: the last 20 typed ones)
    POST /api/search           {"hypothesis": {"kind": regex|counter|position|named, ...},
                                "kinds": [...]?, "top"?, "example"?} → units ranked by |r|
    POST /api/select           {"example", "key", "start", "end", "threshold"?} → the span's value
                               histogram, the units on through it, and matching spans elsewhere

Safety: only the three static files of a fixed table are served (no path from a request is ever
joined to a directory); bodies over 64 KB get 413 before they are read; POSTs must be
application/json (so another web site cannot post a form to it); when bound to a loopback
address, requests must name it in their Host header (no DNS rebinding); typed text is cut at
MAX_INPUT_TOKENS tokens; model calls run one at a time under a lock.
"""
from __future__ import annotations

import ipaddress
import json
import re
import socket
import sys
import threading
import traceback
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Sequence
from urllib.parse import parse_qs, urlsplit

import numpy as np

from rnnlab.data import tokenize
from rnnlab.errors import ConfigError, DataError, RnnlabError
from rnnlab.explore.record import Recording, record_examples
from rnnlab.explore.record_tagger import record_tagger
from rnnlab.explore.saturation import gate_saturation, saturation_json
from rnnlab.explore.hypotheses import (
    Hypothesis, counter_hypothesis, function_hypothesis, position_hypothesis, preset_hypotheses, regex_hypothesis,
)
from rnnlab.explore.search import find_matches, rank_units, select_units, suggest_threshold, value_distribution

MAX_BODY = 64 * 1024        # bytes of a request body; more is refused with 413
MAX_INPUT_TOKENS = 2_000    # tokens of typed text recorded per request; the rest is cut off
MAX_TYPED = 20              # typed examples kept; the oldest goes first
MAX_TOP = 200               # most units one search or selection lists
STATIC = Path(__file__).parent / "static"
FILES = {  # URL path → (file in static/, content type): the only files the server ever reads
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/static/style.css": ("style.css", "text/css; charset=utf-8"),
}
KINDS = ("language-model", "tagger")  # what the model's predictions are: the next token, or each word's tag
RecordFn = Callable[[list], list[Recording]]  # examples (token lists, or what `examples` holds) → Recordings


def static_text(name: str) -> str:
    """One of the page's files, by its name in FILES."""
    if name not in {file for file, _ in FILES.values()}:
        raise KeyError(name)
    return (STATIC / name).read_text(encoding="utf-8")


@dataclass(eq=False)
class Example:
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
        tokens = text.split() if self.kind == "tagger" else tokenize(text, self.level)
        truncated = len(tokens) > MAX_INPUT_TOKENS
        tokens = tokens[:MAX_INPUT_TOKENS]
        unknown = sorted({t for t in tokens if t not in self.vocab})
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
            re_check(pattern)
            if self.level == "word":  # words are matched as "w1 w2 w3 ", not glued together
                return f"regex {pattern}", lambda t: regex_hypothesis([w + " " for w in t], pattern)
            return f"regex {pattern}", lambda t: regex_hypothesis(t, pattern)
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
        hyps = [function_hypothesis(r.tokens, fn) for r in recordings]
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


def re_check(pattern: str) -> None:
    try:
        re.compile(pattern)
    except re.error as e:
        raise DataError(f"bad regular expression {pattern!r}: {e}") from None


def _int(body: dict, name: str, default, low: int, high: int) -> int:
    value = body.get(name, default)
    if value is None:
        raise DataError(f"'{name}' is required")
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise DataError(f"'{name}' must be an integer in [{low}, {high}], got {value!r}")
    return value


# --- HTTP ----------------------------------------------------------------------------------------

class HTTPError(Exception):
    def __init__(self, status: HTTPStatus, message: str):
        super().__init__(message)
        self.status = status


class Handler(BaseHTTPRequestHandler):
    """Routes requests to `self.server.explorer`; every answer is a static file or JSON."""

    server_version = "rnnlab-explore"
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # quiet unless the server was made with verbose=True
        if getattr(self.server, "verbose", False):
            super().log_message(format, *args)

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        try:
            self._check_host()
            path = urlsplit(self.path).path
            routes = self._get_routes() if method == "GET" else self._post_routes()
            if path in routes:
                routes[path]()
            elif path in self._get_routes() or path in self._post_routes():
                raise HTTPError(HTTPStatus.METHOD_NOT_ALLOWED, f"{path} does not take {method}")
            else:
                raise HTTPError(HTTPStatus.NOT_FOUND, f"no such page or API route: {path[:200]}")
        except HTTPError as e:
            self._json({"error": str(e)}, e.status)
        except RnnlabError as e:
            self._json({"error": str(e)}, HTTPStatus.BAD_REQUEST)
        except KeyError as e:  # a Recording's "no recorded values ..." (str(KeyError) adds quotes)
            self._json({"error": str(e.args[0]) if e.args else "missing key"}, HTTPStatus.BAD_REQUEST)
        except Exception as e:  # a bug: keep the traceback on the console, tell the page
            traceback.print_exc(file=sys.stderr)
            self._json({"error": f"internal error: {type(e).__name__}: {e}"}, HTTPStatus.INTERNAL_SERVER_ERROR)

    def _get_routes(self) -> dict:
        static = {path: (lambda path=path: self._static(path)) for path in FILES}
        return {**static, "/api/info": lambda: self._json(self.server.explorer.info()),
                "/api/example": self._example,
                "/api/saturation": lambda: self._json(self.server.explorer.saturation)}

    def _post_routes(self) -> dict:
        ex = self.server.explorer
        return {"/api/analyze": lambda: self._json(ex.analyze(*self._text_and_keys())),
                "/api/search": lambda: self._json(ex.search(self._body())),
                "/api/select": lambda: self._json(ex.select(self._body()))}

    def _check_host(self) -> None:
        allowed = getattr(self.server, "allowed_hosts", None)
        if allowed is not None and self.headers.get("Host", "").lower() not in allowed:
            raise HTTPError(HTTPStatus.BAD_REQUEST, "unexpected Host header: open the explorer by the address it printed")

    def _static(self, path: str) -> None:
        name, content_type = FILES[path]
        self._send(static_text(name).encode("utf-8"), content_type)

    def _example(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        try:
            example_id = int(query.get("id", [""])[0])
        except ValueError:
            raise DataError("give the example as ?id=N") from None
        keys = query.get("keys", [None])[0]
        keys = None if keys is None else [k for k in keys.split(",") if k]
        self._json(self.server.explorer.example(example_id, keys))

    def _text_and_keys(self) -> tuple[str, list[str]]:
        body = self._body()
        keys = body.get("keys", [])
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise DataError("'keys' must be a list of value keys")
        return body.get("text"), keys

    def _body(self) -> dict:
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        length = self.headers.get("Content-Length")
        if length is None:
            raise HTTPError(HTTPStatus.LENGTH_REQUIRED, "send a Content-Length header")
        try:
            length = int(length)
        except ValueError:
            raise HTTPError(HTTPStatus.BAD_REQUEST, "bad Content-Length header") from None
        if length > MAX_BODY:
            self.close_connection = True  # the body is not read: the connection cannot be reused
            raise HTTPError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                            f"request body of {length:,} bytes is over the limit of {MAX_BODY:,}")
        raw = self.rfile.read(length) if length > 0 else b""
        if content_type != "application/json":
            raise HTTPError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "POST JSON with Content-Type: application/json")
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise HTTPError(HTTPStatus.BAD_REQUEST, f"the request body is not valid JSON ({e})") from None
        if not isinstance(body, dict):
            raise HTTPError(HTTPStatus.BAD_REQUEST, "the request body must be a JSON object")
        return body

    def _json(self, data, status: HTTPStatus = HTTPStatus.OK) -> None:
        self._send(json.dumps(data, ensure_ascii=False, allow_nan=False).encode("utf-8"),
                   "application/json; charset=utf-8", status)

    def _send(self, payload: bytes, content_type: str, status: HTTPStatus = HTTPStatus.OK) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Server(ThreadingHTTPServer):
    daemon_threads = True  # a page left open does not keep the process alive
    explorer: Explorer
    verbose = False
    allowed_hosts: set[str] | None = None


class Server6(Server):
    address_family = socket.AF_INET6


def make_server(explorer: Explorer, host: str = "127.0.0.1", port: int = 0, *, verbose: bool = False) -> Server:
    """A bound, not yet serving server (call `serve_forever`); port 0 picks a free one."""
    server = (Server6 if ":" in host else Server)((host, port), Handler)
    server.explorer, server.verbose = explorer, verbose
    bound = server.server_address[1]
    if is_loopback(host):
        server.allowed_hosts = {f"{name}:{bound}" for name in ("127.0.0.1", "localhost", "[::1]")}
    return server


def url_of(server: Server) -> str:
    host, port = server.server_address[:2]
    host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"
