"""PNG pictures of what a run did: gradient norms over time, and the curves in metrics.jsonl.

matplotlib is imported inside each function, with the Agg backend (files only, no display), so
`import rnnlab` never pays for it and the plots work on a headless machine.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from torch import Tensor

from rnnlab.errors import DataError, DataNotFoundError

KINDS = ("train", "valid", "test")
RATES = ("ppl", "bpc")  # validation metrics that get a panel of their own when present


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_gradient_norms(curves: dict[str, Tensor], path, title: str | None = None) -> Path:
    """One line per curve of ‖∂L/∂h_t‖ against the 1-based step t, log-scale y; returns the path.

    A log scale turns geometric decay or growth into a straight line whose slope is the rate.
    Zero norms (underflow) cannot be drawn on it and are left out of the line.
    """
    if not curves:
        raise ValueError("plot_gradient_norms: no curves given")
    plt = _pyplot()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    try:
        for name, curve in curves.items():
            values = curve.detach().double().cpu().flatten().tolist()
            ax.plot(range(1, len(values) + 1), values, label=name, linewidth=1.5)
        ax.set_yscale("log", nonpositive="mask")
        ax.set_xlabel("time step t")
        ax.set_ylabel("‖∂L/∂h_t‖")
        ax.set_title(title or "gradient norm of the hidden state")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
    return path


def read_metrics(metrics_path) -> list[dict]:
    """The rows of a metrics.jsonl whose kind is train, valid or test, checked.

    Raises DataError naming the file and line for a line that is not a JSON object with a known
    `kind`, an integer `step` and a numeric `loss`. Skipped: blank lines, rows of other kinds (a
    later version may log more), and an unparsable last line with no newline — the run may still
    be writing it, or crashed mid-write (MetricsLog drops such a line when it resumes).
    """
    metrics_path = Path(metrics_path)
    if not metrics_path.is_file():
        raise DataNotFoundError(f"metrics file {metrics_path} does not exist")
    try:
        lines = metrics_path.read_text(encoding="utf-8").splitlines(keepends=True)
    except UnicodeDecodeError as e:
        raise DataError(f"metrics file {metrics_path} is not UTF-8 text ({e.reason} at byte {e.start})") from None
    rows, seen_any = [], False
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        seen_any = True
        where = f"{metrics_path}, line {number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            if number == len(lines) and not line.endswith("\n"):
                continue  # a last line still being written, or cut short by a crash: not an error
            raise DataError(f"{where}: not valid JSON ({e.msg})") from None
        if not isinstance(row, dict):
            raise DataError(f"{where}: expected a JSON object, got {type(row).__name__}")
        if "kind" not in row:
            raise DataError(f"{where}: missing field 'kind'")
        if row["kind"] not in KINDS:
            continue
        if not isinstance(row.get("step"), int) or isinstance(row.get("step"), bool):
            raise DataError(f"{where}: 'step' must be an integer, got {row.get('step')!r}")
        if not _is_number(row.get("loss")):
            raise DataError(f"{where}: 'loss' must be a number, got {row.get('loss')!r}")
        rows.append(row)
    if not seen_any:
        raise DataError(f"metrics file {metrics_path} is empty")
    return rows


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def smooth(values: list[float]) -> list[float]:
    """Exponential moving average, bias-corrected so the start is not pulled toward 0.

    The window grows with the number of points (about n/20, at most 50) so a short run is left
    almost raw and a long one gets a readable trend.
    """
    window = min(50, max(1, len(values) // 20))
    beta = 1 - 1 / window
    out, avg = [], 0.0
    for k, v in enumerate(values, 1):
        avg = beta * avg + (1 - beta) * v
        out.append(avg / (1 - beta**k) if beta > 0 else v)
    return out


def plot_metrics(metrics_path, path=None) -> Path:
    """Loss curves of a run from its metrics.jsonl; returns the PNG's path (default loss.png beside it).

    Panels, sharing the step axis: training loss (raw, light, and smoothed) with validation loss as
    markers; then one panel for each of ppl / bpc that validation rows report; then a small panel
    for the learning rate if rows report `lr`.
    """
    metrics_path = Path(metrics_path)
    rows = read_metrics(metrics_path)
    train = [r for r in rows if r["kind"] == "train"]
    valid = [r for r in rows if r["kind"] == "valid"]
    if not train and not valid:
        raise DataError(f"metrics file {metrics_path} has no train or valid rows to plot")
    rates = [m for m in RATES if any(_is_number(r.get(m)) for r in valid)]
    lr_rows = sorted((r for r in rows if _is_number(r.get("lr"))), key=lambda r: r["step"])
    path = Path(path) if path is not None else metrics_path.parent / "loss.png"
    path.parent.mkdir(parents=True, exist_ok=True)

    plt = _pyplot()
    from matplotlib.ticker import LogFormatter

    heights = [3] + [2] * len(rates) + ([1] if lr_rows else [])
    fig, axes = plt.subplots(
        len(heights), 1, sharex=True, squeeze=False, figsize=(7, 1.4 * sum(heights) + 0.6),
        gridspec_kw={"height_ratios": heights},
    )
    axes = axes[:, 0]
    try:
        ax = axes[0]
        if train:
            steps, loss = [r["step"] for r in train], [float(r["loss"]) for r in train]
            ax.plot(steps, loss, color="tab:blue", alpha=0.25, linewidth=1, label="train")
            ax.plot(steps, smooth(loss), color="tab:blue", linewidth=1.8, label="train (smoothed)")
        if valid:
            ax.plot([r["step"] for r in valid], [float(r["loss"]) for r in valid], "o-", color="tab:orange",
                    markersize=4, linewidth=1, label="valid")
        ax.set_ylabel("loss")
        ax.set_title(metrics_path.parent.name or str(metrics_path))
        ax.legend()
        for ax, metric in zip(axes[1:], rates):
            points = [(r["step"], float(r[metric])) for r in valid if _is_number(r.get(metric))]
            ax.plot(*zip(*points), "o-", color="tab:orange", markersize=4, linewidth=1)
            ax.set_ylabel(f"valid {metric}")
            if metric == "ppl" and all(v > 0 and math.isfinite(v) for _, v in points):
                ax.set_yscale("log")  # perplexity is exp(loss): log keeps its shape comparable to the loss
                for axis_set in (ax.yaxis.set_major_formatter, ax.yaxis.set_minor_formatter):
                    axis_set(LogFormatter(labelOnlyBase=False))  # "300", not "3×10²"
        if lr_rows:
            ax = axes[-1]
            ax.plot([r["step"] for r in lr_rows], [float(r["lr"]) for r in lr_rows], color="tab:green", linewidth=1.2)
            ax.set_ylabel("lr")
        for ax in axes:
            ax.grid(True, alpha=0.3)
        axes[-1].set_xlabel("step")
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
    return path
