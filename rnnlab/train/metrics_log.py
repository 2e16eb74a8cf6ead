"""Where training metrics go: `metrics.jsonl` in the run directory, and TensorBoard if installed.

One JSON object per line, each with `kind` ("train", "valid", "test"), `step`, `epoch` and the
metrics — easy to read back with pandas or `plot_metrics`, and appendable across resumes.
"""
from __future__ import annotations

import json
import time
from pathlib import Path


class MetricsLog:
    """Append-only `metrics.jsonl` (one JSON object per row: kind "train" / "valid" / "test",
    step, epoch, metrics) in a run directory, mirrored to TensorBoard when it is installed;
    `run_dir=None` keeps rows in memory only. `truncate_after(step)` drops rows a resume redoes."""
    def __init__(self, run_dir: str | Path | None, tensorboard: bool = True):
        self.path = None if run_dir is None else Path(run_dir) / "metrics.jsonl"
        self.rows: list[dict] = []
        self._tb = None
        if self.path is not None and tensorboard:
            try:  # optional: only when the tensorboard package is installed
                from torch.utils.tensorboard import SummaryWriter
                self._tb = SummaryWriter(str(Path(run_dir) / "tensorboard"))
            except ImportError:
                self._tb = None

    def write(self, kind: str, step: int, epoch: int, **metrics: float) -> dict:
        row = {"kind": kind, "step": step, "epoch": epoch, **metrics, "time": round(time.time(), 3)}
        self.rows.append(row)
        if self.path is not None:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
        if self._tb is not None:
            for name, value in metrics.items():
                if isinstance(value, (int, float)):
                    self._tb.add_scalar(f"{kind}/{name}", value, step)
            self._tb.flush()
        return row

    def truncate_after(self, step: int) -> None:
        """Drop rows logged after `step`: a resumed run re-does those steps and logs them again."""
        if self.path is None or not self.path.exists():
            return
        kept = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                if json.loads(line).get("step", 0) <= step:
                    kept.append(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a crash
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
        tmp.replace(self.path)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
