"""The explorer service on its own: plain values in and out, DataError for bad input, no HTTP."""
import subprocess
import sys

import pytest

from rnnlab.errors import DataError
from rnnlab.explore.service import MAX_TYPED
from tests.explore.conftest import make_explorer


def test_the_service_imports_no_http():
    code = "import sys, rnnlab.explore.service; print('http.server' in sys.modules, 'rnnlab.explore.http' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_requests_are_plain_values_and_bad_ones_raise_data_error(explorer):
    shown = explorer.example(0, ["rnn.layers.0/c"])
    assert list(shown["values"]) == ["rnn.layers.0/c"] and shown["tokens"] == explorer.get(0).recording.tokens
    found = explorer.search({"hypothesis": {"kind": "named", "name": "count (+1 per a, -1 per b)"}, "top": 5})
    rs = [abs(u["r"]) for u in found["units"]]
    assert len(rs) == 5 and rs == sorted(rs, reverse=True)
    for bad in [lambda: explorer.example(0, ["nope/h"]), lambda: explorer.get("0"),
                lambda: explorer.search({"hypothesis": {"kind": "regex", "pattern": "("}}),
                lambda: explorer.select({"example": 0, "key": "rnn.layers.0/h", "start": 3, "end": 2})]:
        with pytest.raises(DataError):
            bad()


def test_typed_examples_are_kept_up_to_the_limit(lm_run):
    explorer = make_explorer(lm_run)
    ids = [explorer.analyze(f"{'a' * (k % 3 + 1)}Xb\n")["id"] for k in range(MAX_TYPED + 2)]
    typed = [e.id for e in explorer.examples() if e.typed]
    assert typed == ids[2:]  # the oldest went first
    with pytest.raises(DataError, match="replaced"):
        explorer.get(ids[0])
