"""The explorer as one self-contained HTML file: `rnnlab explore RUN_DIR --export page.html`.

The page's script and style sheet are inlined, and its data is embedded as JSON in
`<script type="application/json" id="rnnlab-data">`, so the file opens from disk, offline, with no
server. The data: every example with every recorded value, the predictions, the gate saturation
statistics and the ranking of every named hypothesis. Values are stored in 8 bits each
(base64; per example and key, byte q means lo + q (hi − lo) / 255 — finer than a colour needs), so
a file holds about 1.4 bytes per value: tokens × layers × kinds × units.

Typing new text, searching a new hypothesis and selecting spans need the model and the server;
the exported page says so and offers the rest.
"""
from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import numpy as np

from rnnlab.errors import DataError
from rnnlab.explore.http import static_text
from rnnlab.explore.service import MAX_TOP, Explorer
from rnnlab.explore.hypotheses import function_hypothesis
from rnnlab.explore.search import rank_units

_CSS_TAG = '<link rel="stylesheet" href="static/style.css">'
_JS_TAG = '<script src="static/app.js"></script>'
_TREE_JS_TAG = '<script src="static/tree.js"></script>'
_MEMORY_JS_TAG = '<script src="static/memory.js"></script>'
_SIGNAL_JS_TAG = '<script src="static/signal.js"></script>'


def quantize(values: np.ndarray) -> dict:
    """(T, units) floats → {"lo", "hi", "data": base64 of T·units bytes, row-major}."""
    v = np.asarray(values, dtype=np.float64)
    lo, hi = float(v.min()), float(v.max())
    q = np.zeros(v.shape, np.uint8) if hi == lo else np.rint((v - lo) / (hi - lo) * 255).astype(np.uint8)
    return {"lo": lo, "hi": hi, "data": base64.b64encode(q.tobytes()).decode("ascii")}


def page_data(explorer: Explorer) -> dict:
    """Everything the page shows, in the form its static data source reads."""
    examples = explorer.examples()
    recordings = [e.recording for e in examples]
    rankings = {}
    for name, fn in explorer.hypotheses.items():
        hyps = [function_hypothesis(r.tokens, fn) for r in recordings]
        try:
            scores = rank_units(recordings, hyps, top=MAX_TOP)
        except DataError:  # constant on this data (e.g. no quotes anywhere): nothing to rank
            continue
        rankings[name] = {
            "units": [{"key": s.key, "unit": s.unit, "r": round(s.r, 4)} for s in scores],
            "values": {str(e.id): [round(float(v), 4) for v in h] for e, h in zip(examples, hyps)},
        }
    info = {**explorer.info(), "static": True, "hypotheses": list(rankings)}
    out_examples = {}
    for e in examples:
        page = e.recording.to_json(keys=[])
        page.update(name=e.name, values={k: quantize(v) for k, v in e.recording.values.items()})
        out_examples[str(e.id)] = page
    return {"info": info, "examples": out_examples, "saturation": explorer.saturation, "rankings": rankings}


def export_page(explorer: Explorer, path: str | Path, *, title: str = "rnnlab explorer") -> Path:
    """Write the page with its data to `path` (one file); returns the path."""
    css, js = static_text("style.css"), static_text("app.js")
    if "</style" in css.lower() or "</script" in js.lower():
        raise RuntimeError("the page's code cannot be inlined (it contains a closing tag)")
    data = json.dumps(page_data(explorer), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    data = data.replace("<", "\\u003c")  # only inside JSON strings: nothing can close the <script>
    page = static_text("index.html")
    for tag in (_CSS_TAG, _JS_TAG, "<title>rnnlab explorer</title>"):
        if tag not in page:
            raise RuntimeError(f"index.html no longer contains {tag!r}; update rnnlab/explore/export.py")
    page = page.replace("<title>rnnlab explorer</title>", f"<title>{html.escape(title)}</title>")
    page = page.replace(_CSS_TAG, f"<style>\n{css}</style>")
    tree_js = static_text("tree.js")  # the tree view: inlined too, so nothing is fetched
    if "</script" in tree_js.lower():
        raise RuntimeError("tree.js cannot be inlined (it contains a closing tag)")
    page = page.replace(_TREE_JS_TAG, f"<script>\n{tree_js}</script>")
    memory_js = static_text("memory.js")
    if "</script" in memory_js.lower():
        raise RuntimeError("memory.js cannot be inlined (it contains a closing tag)")
    page = page.replace(_MEMORY_JS_TAG, f"<script>\n{memory_js}</script>")
    signal_js = static_text("signal.js")
    if "</script" in signal_js.lower():
        raise RuntimeError("signal.js cannot be inlined (it contains a closing tag)")
    page = page.replace(_SIGNAL_JS_TAG, f"<script>\n{signal_js}</script>")
    page = page.replace(_JS_TAG, f'<script type="application/json" id="rnnlab-data">{data}</script>\n'
                                 f"<script>\n{js}</script>")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
