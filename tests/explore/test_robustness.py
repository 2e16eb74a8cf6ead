"""The explorer's server against hostile or broken clients (issue 12, items 2, 5 and 8): runaway
regular expressions, bodies that never come, too many slow clients, deeply nested JSON, clients
that leave early, wildcard hosts and impossible ports."""
import contextlib
import socket
import struct
import threading
import time
from urllib.parse import urlsplit

import pytest

from rnnlab.cli.main import main as rnnlab_main
from rnnlab.errors import ConfigError, DataError
from rnnlab.explore.bounded_regex import RegexMatcher
from rnnlab.explore.http import make_server, url_of
from tests.explore.test_http import post, raw_get

EVIL = "(a+)+$"  # on "a" * 30 + "X": about 2**30 backtracking steps in `re`


def test_a_runaway_regex_is_stopped_and_the_next_one_works():
    matcher = RegexMatcher(seconds=0.5)
    try:
        start = time.monotonic()
        with pytest.raises(DataError, match="longer than 0.5 s"):
            matcher.spans(EVIL, ["a" * 40 + "X"])
        assert time.monotonic() - start < 2.0
        assert matcher.spans("a+", ["xaab", "", "aaa"]) == [[(1, 3)], [], [(0, 3)]]
        with pytest.raises(DataError, match="bad regular expression"):
            matcher.spans("(", ["a"])
    finally:
        matcher.close()


def test_a_runaway_regex_does_not_stall_other_requests(scratch_url):
    status, _ = post(scratch_url + "api/analyze", {"text": "a" * 30 + "X"})
    assert status == 200
    answer = {}

    def evil():
        start = time.monotonic()
        answer["status"], answer["body"] = post(scratch_url + "api/search", {"hypothesis": {"kind": "regex", "pattern": EVIL}})
        answer["seconds"] = time.monotonic() - start

    thread = threading.Thread(target=evil)
    thread.start()
    time.sleep(0.1)
    latencies = []
    while thread.is_alive():  # the page keeps working while the pattern runs
        start = time.monotonic()
        assert raw_get(scratch_url, "/api/info") == 200
        latencies.append(time.monotonic() - start)
        time.sleep(0.05)
    thread.join()
    assert answer["status"] == 400 and "took longer" in answer["body"]["error"], answer
    assert answer["seconds"] < 3.0
    assert latencies and max(latencies) < 0.5, latencies
    status, found = post(scratch_url + "api/search", {"hypothesis": {"kind": "regex", "pattern": "Xb*"}})
    assert status == 200 and found["units"]  # normal expressions still work


def test_deeply_nested_json_is_a_400(server_url):
    status, body = post(server_url + "api/search", b"[" * 30_000)
    assert status == 400 and "nested too deeply" in body["error"]


def _connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    return socket.create_connection((parts.hostname, parts.port), timeout=10)


def _headers_of_unsent_body(url: str) -> bytes:
    netloc = urlsplit(url).netloc
    return (f"POST /api/search HTTP/1.1\r\nHost: {netloc}\r\nContent-Type: application/json\r\n"
            f"Content-Length: 100\r\n\r\n").encode()


@contextlib.contextmanager
def _served(explorer, host="127.0.0.1", **limits):
    """`make_server(explorer, host, 0, **limits)` serving in a background thread."""
    server = make_server(explorer, host, 0, **limits)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_a_body_that_never_comes_times_out(explorer):
    with _served(explorer, request_timeout=0.5) as server, _connect(url_of(server)) as sock:
        start = time.monotonic()
        sock.sendall(_headers_of_unsent_body(url_of(server)))
        reply = sock.recv(65536)
        assert reply.startswith(b"HTTP/1.1 408") and time.monotonic() - start < 3.0


def test_slow_clients_cannot_exhaust_the_server(explorer):
    """More silent connections than handler threads: the threads stay bounded, the silent ones are
    closed after the timeout, and a normal request is then answered."""
    with _served(explorer, request_timeout=0.5, max_threads=4) as server:
        _slow_clients_against(url_of(server))


def _slow_clients_against(url: str) -> None:
    before = threading.active_count()
    slow = [_connect(url) for _ in range(12)]
    try:
        for sock in slow:
            sock.sendall(b"GET /api/info HTTP/1.1\r\n")  # and never the rest
        time.sleep(0.3)
        assert threading.active_count() - before <= 4
        start = time.monotonic()
        assert raw_get(url, "/api/info") == 200
        assert time.monotonic() - start < 6.0  # three rounds of 4 silent clients timing out, then ours
        for sock in slow:
            sock.settimeout(5)
            assert sock.recv(65536) == b""  # closed by the server (a request line was never finished)
    finally:
        for sock in slow:
            sock.close()


def test_clients_that_leave_early_print_no_traceback(server_url, capfd):
    netloc = urlsplit(server_url).netloc
    request = f"GET /api/example?id=0 HTTP/1.1\r\nHost: {netloc}\r\n\r\n".encode()
    for _ in range(20):
        sock = _connect(server_url)
        sock.sendall(request)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
        sock.close()
    sock = _connect(server_url)
    sock.sendall(b"GET /api/info HTTP/1.1\r\nHost: " + netloc.encode() + b"\r\nContent-Le")  # then gone
    sock.close()
    time.sleep(0.5)
    assert raw_get(server_url, "/api/info") == 200
    assert "Traceback" not in capfd.readouterr().err


def test_a_wildcard_host_still_refuses_foreign_host_headers(explorer):
    with _served(explorer, "0.0.0.0") as server:
        port = server.server_address[1]
        url = url_of(server)
        assert "0.0.0.0" not in url and urlsplit(url).port == port
        local = f"http://127.0.0.1:{port}/"
        assert raw_get(local, "/api/info", host="evil.example") == 400
        assert raw_get(local, "/api/info", host=f"evil.example:{port}") == 400
        assert raw_get(local, "/api/info", host=urlsplit(url).netloc) == 200  # the printed address works
        assert raw_get(local, "/api/info", host=f"localhost:{port}") == 200


@pytest.mark.parametrize("port", [99999, -1, 65536])
def test_impossible_ports_are_refused(explorer, lm_run, port, capsys):
    with pytest.raises(ConfigError, match="port"):
        make_server(explorer, "127.0.0.1", port)
    assert rnnlab_main(["explore", str(lm_run), "--port", str(port), "--no-browser"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--port" in err and "Traceback" not in err and len(err.splitlines()) == 1
