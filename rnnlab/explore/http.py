"""The explorer's HTTP transport: a JSON API over an `Explorer`, and the page's static files.

    server = make_server(explorer, port=0)          # 127.0.0.1, an ephemeral port
    server.serve_forever()

Routes (JSON in and out; errors are {"error": "..."} with status 400, 404, 405, 408, 411, 413 or 415):

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
joined to a directory); bodies over MAX_BODY (64 KB) get 413 before they are read; POSTs must be
application/json (so another web site cannot post a form to it); requests must name the server
in their Host header as a user would (no DNS rebinding; see hosts.py).

Robustness: a connection that sends nothing for REQUEST_TIMEOUT seconds is closed (a declared but
unsent body gets 408); at most MAX_THREADS requests are handled at once, further connections wait
in a listen backlog of QUEUE_SIZE; JSON nested too deeply is a 400; a client that goes away early
is forgotten without a traceback. Typed regular expressions run time-bounded in other processes
(bounded_regex.py), so no request can stall the others.
"""
from __future__ import annotations

import json
import socket
import sys
import threading
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from rnnlab.errors import ConfigError, DataError, RnnlabError
from rnnlab.explore.hosts import allowed_hosts, public_name
from rnnlab.explore.service import MAX_BODY, Explorer

REQUEST_TIMEOUT = 10.0  # seconds a connection may send nothing (mid-request, or idle between requests)
MAX_THREADS = 64        # requests handled at once; the accept loop waits for a free one
QUEUE_SIZE = 128        # connections the kernel holds while every thread is busy (the default 5 resets clients)
GONE = (ConnectionError, TimeoutError)  # the client went away or stalled: nothing to tell it
STATIC = Path(__file__).parent / "static"
FILES = {  # URL path → (file in static/, content type): the only files the server ever reads
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/static/tree.js": ("tree.js", "text/javascript; charset=utf-8"),  # the tree view (tree classifiers)
    "/static/memory.js": ("memory.js", "text/javascript; charset=utf-8"),
    "/static/signal.js": ("signal.js", "text/javascript; charset=utf-8"),  # units over time (digits, NARX)
    "/static/style.css": ("style.css", "text/css; charset=utf-8"),
}


def static_text(name: str) -> str:
    """One of the page's files, by its name in FILES."""
    if name not in {file for file, _ in FILES.values()}:
        raise KeyError(name)
    return (STATIC / name).read_text(encoding="utf-8")


class HTTPError(Exception):
    """An answer other than 200, with the message the page shows."""

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

    def setup(self) -> None:
        self.timeout = self.server.request_timeout  # StreamRequestHandler sets it on the socket
        super().setup()

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
        except GONE as e:  # a stalled body may still get its 408; a closed socket gets nothing
            self.close_connection = True
            if isinstance(e, TimeoutError):
                self._reply_quietly({"error": f"no data for {self.timeout:g} s: request timed out"},
                                    HTTPStatus.REQUEST_TIMEOUT)
        except HTTPError as e:
            self._json({"error": str(e)}, e.status)
        except RnnlabError as e:
            self._json({"error": str(e)}, HTTPStatus.BAD_REQUEST)
        except KeyError as e:  # a Recording's "no recorded values ..." (str(KeyError) adds quotes)
            self._json({"error": str(e.args[0]) if e.args else "missing key"}, HTTPStatus.BAD_REQUEST)
        except Exception as e:  # a bug: keep the traceback on the console, tell the page
            traceback.print_exc(file=sys.stderr)
            self._reply_quietly({"error": f"internal error: {type(e).__name__}: {e}"}, HTTPStatus.INTERNAL_SERVER_ERROR)

    def _reply_quietly(self, data: dict, status: HTTPStatus) -> None:
        """Answer an error unless the client has gone meanwhile."""
        try:
            self._json(data, status)
        except GONE:
            self.close_connection = True

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
        except RecursionError:  # json's decoder recurses once per [ or {
            raise HTTPError(HTTPStatus.BAD_REQUEST, "the request body's JSON is nested too deeply") from None
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


class Server(ThreadingHTTPServer):
    """Serves one `Explorer` (`make_server` builds it); each request in its own thread, at most
    `max_threads` at once, each connection closed after `request_timeout` seconds of silence."""

    daemon_threads = True  # a page left open does not keep the process alive
    request_queue_size = QUEUE_SIZE
    explorer: Explorer
    verbose = False
    allowed_hosts: set[str] | None = None
    request_timeout = REQUEST_TIMEOUT

    def __init__(self, address, handler, max_threads: int = MAX_THREADS):
        super().__init__(address, handler)
        self._slots = threading.BoundedSemaphore(max_threads)

    def process_request(self, request, client_address) -> None:
        self._slots.acquire()  # all threads busy: stop accepting; new connections wait in the backlog
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], GONE):  # a client that left early is no error of ours
            super().handle_error(request, client_address)

    def server_close(self) -> None:
        super().server_close()
        self.explorer.close()


class Server6(Server):
    """`Server` on an IPv6 address."""

    address_family = socket.AF_INET6


def make_server(explorer: Explorer, host: str = "127.0.0.1", port: int = 0, *, verbose: bool = False,
                request_timeout: float = REQUEST_TIMEOUT, max_threads: int = MAX_THREADS) -> Server:
    """A bound, not yet serving server (call `serve_forever`); port 0 picks a free one.

    It answers only Host headers that name it (`hosts.allowed_hosts`): on a wildcard address
    (0.0.0.0, ::), this machine's names and addresses."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigError(f"port must be an integer from 0 to 65535 (0 = any free one), got {port!r}")
    server = (Server6 if ":" in host else Server)((host, port), Handler, max_threads)
    server.explorer, server.verbose, server.request_timeout = explorer, verbose, request_timeout
    server.allowed_hosts = allowed_hosts(host, server.server_address[1])
    server.public_name = public_name(host)
    return server


def url_of(server: Server) -> str:
    """The page's address: for a server on every interface, by this machine's outward address or name."""
    host, port = getattr(server, "public_name", server.server_address[0]), server.server_address[1]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"
