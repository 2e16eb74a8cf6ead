"""The explorer as one self-contained HTML file (`rnnlab explore --export`)."""
import json
import re

import pytest


def test_export_is_one_self_contained_file(explorer, tmp_path):
    from rnnlab.explore.export import export_page
    path = export_page(explorer, tmp_path / "page.html")
    assert [p.name for p in tmp_path.iterdir()] == ["page.html"]
    page = path.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)  # nothing fetched
    assert "<link" not in page.replace('<link rel="icon" href="data:,">', "") and "<script src" not in page
    assert "renderText" in page and "--mono" in page  # the script and style sheet are inlined
    blob = re.search(r'<script type="application/json" id="rnnlab-data">(.*?)</script>', page, re.S).group(1)
    data = json.loads(blob)
    assert data["info"]["static"] is True
    assert len(data["examples"]) == len(explorer.examples())
    first = data["examples"][str(explorer.examples()[0].id)]
    assert first["tokens"] == explorer.examples()[0].recording.tokens
    assert set(first["values"]) == set(explorer.keys)
    assert "count (+1 per a, -1 per b)" in data["rankings"] and data["saturation"]["kinds"]


def test_export_values_decode_to_the_recording(explorer):
    import base64

    import numpy as np

    from rnnlab.explore.export import quantize
    values = explorer.get(0).recording.values["rnn.layers.0/c"]
    q = quantize(values)
    decoded = q["lo"] + np.frombuffer(base64.b64decode(q["data"]), np.uint8).reshape(values.shape) * (q["hi"] - q["lo"]) / 255
    assert np.abs(decoded - values).max() <= (q["hi"] - q["lo"]) / 510 + 1e-6


def explore(*argv: str) -> int:
    """`rnnlab explore ...` through the command's own parser (its errors raise, as main() prints them)."""
    import argparse

    from rnnlab.cli import explore as command
    parser = argparse.ArgumentParser(prog="rnnlab")
    command.register(parser.add_subparsers())
    args = parser.parse_args(["explore", *argv])
    return args.func(args)


def test_cli_exports_a_page(lm_run, tmp_path):
    from rnnlab.errors import ConfigError
    out = tmp_path / "explorer.html"
    text = tmp_path / "input.txt"
    text.write_text("aaXbb\naaaXbbb\n\naaaaXbbbb\n")
    assert explore(str(lm_run), "--text", str(text), "--export", str(out)) == 0
    page = out.read_text(encoding="utf-8")
    data = json.loads(re.search(r'id="rnnlab-data">(.*?)</script>', page, re.S).group(1))
    assert [e["tokens"] for e in data["examples"].values()] == [list("aaXbb\naaaXbbb\n"), list("aaaaXbbbb\n")]
    assert explore(str(lm_run), "--task", "counting", "--examples", "3", "--export", str(out)) == 0
    with pytest.raises(ConfigError, match="unknown synthetic task 'nope'"):
        explore(str(lm_run), "--task", "nope", "--export", str(out))
