"""The explorer's HTTP transport, through real HTTP on an ephemeral port."""
import http.client
import json
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import pytest

from rnnlab.explore.service import MAX_BODY, MAX_INPUT_TOKENS


def get(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read(), r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers.get("Content-Type", "")


def post(url: str, body, content_type: str = "application/json") -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": content_type}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def raw_get(server_url: str, path: str, host: str | None = None) -> int:
    """A GET with the path sent exactly as written (urllib would not normalise it, but be explicit)."""
    parts = urlsplit(server_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    conn.putrequest("GET", path, skip_host=host is not None)
    if host is not None:
        conn.putheader("Host", host)
    conn.endheaders()
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status


def test_page_and_its_files_are_served(server_url):
    status, body, content_type = get(server_url)
    assert status == 200 and content_type.startswith("text/html")
    assert b'id="text"' in body and b"static/app.js" in body
    for path, kind in [("static/app.js", "text/javascript"), ("static/style.css", "text/css")]:
        status, body, content_type = get(server_url + path)
        assert status == 200 and content_type.startswith(kind) and body


@pytest.mark.parametrize("path", ["/static/../../etc/passwd", "/static/%2e%2e/%2e%2e/etc/passwd", "/../app.py",
                                  "/static/app.py", "/static/", "/index.html", "/etc/passwd", "/api/nothing",
                                  "//etc/passwd", "/static/app.js/../../app.py"])
def test_only_the_listed_files_are_served(server_url, path):
    assert raw_get(server_url, path) == 404


def test_requests_for_another_host_are_refused(server_url):
    """DNS rebinding: a page of evil.example resolving to 127.0.0.1 must not read the API."""
    assert raw_get(server_url, "/api/info", host="evil.example:80") == 400
    assert raw_get(server_url, "/api/info", host=urlsplit(server_url).netloc) == 200


def test_info_lists_keys_examples_and_hypotheses(server_url, explorer):
    status, body, _ = get(server_url + "api/info")
    info = json.loads(body)
    assert status == 200 and info["kind"] == "language-model"
    assert info["keys"] == explorer.keys and "rnn.layers.1/c" in info["keys"]
    assert info["units"]["rnn.layers.0/h"] == 16
    assert info["kinds"]["rnn.layers.0"] == ["h", "c", "i", "f", "g", "o"]
    assert len([e for e in info["examples"] if not e["typed"]]) == 12
    assert "count (+1 per a, -1 per b)" in info["hypotheses"]


def test_example_sends_the_requested_values(server_url):
    status, body, _ = get(server_url + "api/example?id=0&keys=rnn.layers.0/c,rnn.layers.1/f")
    example = json.loads(body)
    assert status == 200 and set(example["values"]) == {"rnn.layers.0/c", "rnn.layers.1/f"}
    T = len(example["tokens"])
    assert example["tokens"][-1] == "\n" and len(example["values"]["rnn.layers.0/c"]) == T
    assert all(len(row) == 16 for row in example["values"]["rnn.layers.1/f"])
    assert all(0 <= v <= 1 for row in example["values"]["rnn.layers.1/f"] for v in row)  # a gate
    assert len(example["predictions"]) == T and len(example["predictions"][0]) == 5
    assert example["targets"] == example["tokens"][1:] + [None]
    for query in ["id=999", "id=x", "id=0&keys=nope/h", ""]:
        status, body, _ = get(server_url + "api/example?" + query)
        assert status == 400 and "error" in json.loads(body)


def test_analyze_records_typed_text(scratch_url):
    server_url = scratch_url
    status, out = post(server_url + "api/analyze", {"text": "aaaaXbbbb\n", "keys": ["rnn.layers.0/h"]})
    assert status == 200
    assert out["tokens"] == list("aaaaXbbbb\n") and out["typed"] and not out["truncated"]
    assert len(out["values"]["rnn.layers.0/h"]) == 10 and len(out["values"]["rnn.layers.0/h"][0]) == 16
    assert out["id"] in [e["id"] for e in out["examples"]]
    status, body, _ = get(server_url + f"api/example?id={out['id']}&keys=rnn.layers.1/c")
    assert status == 200 and json.loads(body)["tokens"] == out["tokens"]  # kept on the server


def test_analyze_caps_tokens_and_notes_unknown_ones(scratch_url):
    server_url = scratch_url
    status, out = post(server_url + "api/analyze", {"text": "a" * (MAX_INPUT_TOKENS + 50) + "é"})
    assert status == 200 and out["truncated"] and len(out["tokens"]) == MAX_INPUT_TOKENS
    assert out["values"] == {}  # no keys asked for
    status, out = post(server_url + "api/analyze", {"text": "aaéXbb\n"})
    assert status == 200 and out["unknown"] == ["é"]


def test_search_ranks_units_against_hypotheses(server_url):
    status, out = post(server_url + "api/search", {
        "hypothesis": {"kind": "counter", "up": "a", "down": "b", "reset": "\\n"}, "top": 10, "example": 0})
    assert status == 200 and len(out["units"]) == 10
    rs = [abs(u["r"]) for u in out["units"]]
    assert rs == sorted(rs, reverse=True) and rs[0] > 0.5  # a trained counting LSTM counts
    status, body, _ = get(server_url + "api/example?id=0&keys=")
    assert len(out["values"]) == len(json.loads(body)["tokens"])  # the hypothesis on example 0
    for hypothesis, kinds in [({"kind": "named", "name": "after the X (b part)"}, ["c"]),
                              ({"kind": "regex", "pattern": "X"}, None),
                              ({"kind": "position", "reset": "X"}, ["h", "f"])]:
        status, out = post(server_url + "api/search", {"hypothesis": hypothesis, "kinds": kinds})
        assert status == 200 and len(out["units"]) == 20
        assert kinds is None or all(u["key"].rsplit("/", 1)[1] in kinds for u in out["units"])


@pytest.mark.parametrize("body, message", [
    ({"hypothesis": {"kind": "regex", "pattern": "("}}, "bad regular expression"),
    ({"hypothesis": {"kind": "named", "name": "nope"}}, "unknown hypothesis"),
    ({"hypothesis": {"kind": "magic"}}, "unknown hypothesis kind"),
    ({"hypothesis": {"kind": "counter"}}, "needs 'up'"),
    ({"hypothesis": {"kind": "regex", "pattern": "Q"}}, "constant"),
    ({"hypothesis": {"kind": "position"}, "kinds": ["q"]}, "no recorded values"),
    ({"hypothesis": {"kind": "position"}, "top": 10**6}, "'top'"),
    ({}, "'hypothesis'"),
])
def test_bad_searches_are_400_with_a_message(server_url, body, message):
    status, out = post(server_url + "api/search", body)
    assert status == 400 and message in out["error"]


def test_select_lists_units_histogram_and_matches(server_url, explorer):
    tokens = explorer.get(0).recording.tokens
    start = tokens.index("X")
    status, out = post(server_url + "api/select", {"example": 0, "key": "rnn.layers.0/c", "start": start,
                                                   "end": len(tokens) - 1, "off_margin": 0})
    assert status == 200
    assert out["threshold"] == pytest.approx(out["suggested"], abs=1e-4)
    assert len(out["distribution"]["edges"]) == 21 and sum(out["distribution"]["counts"]) == 16 * (len(tokens) - 1 - start)
    assert out["units"] and all(0 <= u < 16 for u in out["units"])
    assert out["matches"] and all(0 <= m["score"] <= 1 for m in out["matches"])
    assert any(m["example"] == 0 and m["start"] <= start < m["end"] for m in out["matches"])  # itself
    status, high = post(server_url + "api/select", {"example": 0, "key": "rnn.layers.0/c", "start": start,
                                                    "end": start + 2, "threshold": 1e9})
    assert status == 200 and high["units"] == [] and high["matches"] == []
    for bad in [{"example": 0, "key": "rnn.layers.0/c", "start": 5, "end": 5},
                {"example": 0, "key": "nope", "start": 0, "end": 1},
                {"example": 0, "key": "rnn.layers.0/c", "start": 0, "end": 2, "threshold": "high"},
                {"example": -4, "key": "rnn.layers.0/c", "start": 0, "end": 2}]:
        status, out = post(server_url + "api/select", bad)
        assert status == 400 and out["error"]


def test_saturation_of_every_gate(server_url):
    status, body, _ = get(server_url + "api/saturation")
    kinds = json.loads(body)["kinds"]
    assert status == 200 and list(kinds) == ["i", "f", "o"]
    assert all(len(entry["left"]) == 16 for entry in kinds["f"])


def test_oversized_bodies_are_413_unread(server_url):
    status, out = post(server_url + "api/analyze", {"text": "a" * (MAX_BODY + 1)})
    assert status == 413 and "limit" in out["error"]


@pytest.mark.parametrize("data, content_type, code", [
    (b"{not json", "application/json", 400),
    (b"[1, 2]", "application/json", 400),
    (b"\xff\xfe", "application/json", 400),
    (b'{"text": 5}', "application/json", 400),
    (b'{"text": "   "}', "application/json", 400),
    (b'{"text": "aaXbb"}', "text/plain", 415),  # what a cross-site form could send
])
def test_bad_bodies_are_json_errors(server_url, data, content_type, code):
    status, out = post(server_url + "api/analyze", data, content_type)
    assert status == code and isinstance(out["error"], str)


def test_wrong_method_is_405(server_url):
    status, out = post(server_url + "api/info", {})
    assert status == 405
    status, body, _ = get(server_url + "api/search")
    assert status == 405
