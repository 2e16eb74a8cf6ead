"""The plots are real PNGs, matplotlib is imported only when plotting, and bad metrics files
raise a DataError that names the file and line."""
import ast
import json
import math
from pathlib import Path

import pytest
import torch

from rnnlab.errors import DataError, DataNotFoundError
from rnnlab.train.plots import plot_gradient_norms, plot_metrics, read_metrics, smooth

PNG = b"\x89PNG\r\n\x1a\n"


def _is_png(path) -> bool:
    data = path.read_bytes()
    return data.startswith(PNG) and len(data) > 5_000


def test_gradient_norm_plot_is_a_png_in_a_new_directory(tmp_path):
    t = torch.arange(40, dtype=torch.float64)
    curves = {"elman": 0.8**(39 - t), "lstm": 0.97**(39 - t), "underflow": torch.zeros(40)}
    out = plot_gradient_norms(curves, tmp_path / "new" / "dir" / "g.png", title="test")
    assert out == tmp_path / "new" / "dir" / "g.png"
    assert _is_png(out)


def _write_metrics(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _run_rows(with_extras: bool):
    rows = []
    for step in range(1, 201):
        row = {"kind": "train", "step": step, "epoch": step // 100, "loss": 3 * math.exp(-step / 80) + 0.1 * (step % 7)}
        if with_extras:
            row.update(lr=1e-3 * min(1, step / 20), grad_norm=1.0, tokens_per_s=1e4)
        rows.append(row)
        if step % 50 == 0:
            valid = {"kind": "valid", "step": step, "epoch": step // 100, "loss": 3 * math.exp(-step / 90) + 0.2}
            if with_extras:
                valid.update(ppl=math.exp(valid["loss"]), bpc=valid["loss"] / math.log(2), accuracy=0.5)
            rows.append(valid)
    rows.append({"kind": "test", "step": 200, "epoch": 2, "loss": 0.5})
    rows.append({"kind": "event", "what": "checkpoint"})  # unknown kind: skipped
    return rows


@pytest.mark.parametrize("with_extras", [False, True], ids=["loss-only", "ppl-bpc-lr"])
def test_metrics_plot_defaults_to_loss_png_beside_the_file(tmp_path, with_extras):
    metrics = _write_metrics(tmp_path / "metrics.jsonl", _run_rows(with_extras))
    out = plot_metrics(metrics)
    assert out == tmp_path / "loss.png"
    assert _is_png(out)
    elsewhere = plot_metrics(metrics, tmp_path / "plots" / "curves.png")
    assert _is_png(elsewhere)


def test_more_panels_when_ppl_bpc_and_lr_are_logged(tmp_path):
    from PIL import Image  # matplotlib depends on pillow

    plain = plot_metrics(_write_metrics(tmp_path / "a.jsonl", _run_rows(False)), tmp_path / "a.png")
    full = plot_metrics(_write_metrics(tmp_path / "b.jsonl", _run_rows(True)), tmp_path / "b.png")
    assert Image.open(full).height > Image.open(plain).height


@pytest.mark.parametrize(
    "line, message",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"step": 3, "loss": 1.0}', "missing field 'kind'"),
        ('{"kind": "train", "step": "3", "loss": 1.0}', "'step' must be an integer"),
        ('{"kind": "valid", "step": 3}', "'loss' must be a number"),
    ],
)
def test_malformed_line_names_file_and_line(tmp_path, line, message):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"kind": "train", "step": 1, "epoch": 0, "loss": 2.0}\n\n' + line + "\n")
    with pytest.raises(DataError, match=message) as info:
        plot_metrics(path)
    assert f"{path}, line 3" in str(info.value)


def test_a_last_line_cut_short_is_skipped_but_not_one_in_the_middle(tmp_path):
    path = tmp_path / "metrics.jsonl"
    good = '{"kind": "train", "step": 1, "epoch": 0, "loss": 2.0}\n'
    path.write_text(good + '{"kind": "train", "st')  # the run is writing its next row
    assert len(read_metrics(path)) == 1
    path.write_text(good + '{"kind": "train", "st\n' + good)
    with pytest.raises(DataError, match="line 2: not valid JSON"):
        read_metrics(path)


def test_empty_missing_and_nothing_to_plot(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n  \n")
    with pytest.raises(DataError, match="empty"):
        plot_metrics(empty)
    with pytest.raises(DataNotFoundError, match="does not exist"):
        plot_metrics(tmp_path / "nope.jsonl")
    only_test = _write_metrics(tmp_path / "t.jsonl", [{"kind": "test", "step": 1, "loss": 1.0}])
    with pytest.raises(DataError, match="no train or valid rows"):
        plot_metrics(only_test)
    assert [r["kind"] for r in read_metrics(only_test)] == ["test"]
    latin1 = tmp_path / "latin1.jsonl"
    latin1.write_bytes('{"kind": "train", "step": 1, "loss": 1.0, "note": "é"}\n'.encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8"):
        plot_metrics(latin1)


def test_smoothing_follows_the_trend_without_start_bias():
    assert smooth([5.0, 5.0, 5.0]) == [5.0, 5.0, 5.0]
    values = [float(k % 2) for k in range(1000)]  # 0, 1, 0, 1, …: the trend is 0.5
    smoothed = smooth(values)
    assert smoothed[0] == 0.0
    assert all(abs(v - 0.5) < 0.05 for v in smoothed[200:])


@pytest.mark.parametrize("module", ["rnnlab/train/plots.py", "rnnlab/train/diagnostics.py", "rnnlab/cli/gradients.py"])
def test_matplotlib_is_imported_only_inside_functions(module):
    """So `import rnnlab` stays light. (Read from the source: a fresh interpreter costs seconds.)"""
    tree = ast.parse((Path(__file__).parents[2] / module).read_text())
    top_level = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    names = [alias.name for node in top_level for alias in node.names] + [
        node.module for node in top_level if isinstance(node, ast.ImportFrom)
    ]
    assert not [n for n in names if n and n.startswith("matplotlib")]
    if module.endswith("plots.py"):  # and there it is really used, with the headless backend
        assert "matplotlib.use('Agg')" in ast.unparse(tree)
