"""Where training metrics go: `metrics.jsonl` in the run directory, and TensorBoard if installed.

One JSON object per line, each with `kind` ("train", "valid", "test"), `step`, `epoch` and the
metrics — easy to read back with pandas or `plot_metrics`, and appendable across resumes.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from rnnlab.errors import CheckpointError


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
        """Drop rows logged after `step`: a resumed run re-does those steps and logs them again.

        A last line cut short by a crash is dropped; any other line that is not a row (a JSON
        object with an integer step), or a file that is not UTF-8 text, is a `CheckpointError`
        naming the file and line — the run's history is not rewritten from garbage."""
        if self.path is None or not self.path.exists():
            return
        where = f"metrics log {self.path}"
        if not self.path.is_file():
            raise CheckpointError(f"{where} is not a file; move it away to resume")
        try:
            lines = self.path.read_bytes().decode("utf-8").splitlines()
        except UnicodeDecodeError as e:
            raise CheckpointError(f"{where} is not UTF-8 text (byte {e.start}); move it away to resume") from None
        except OSError as e:
            raise CheckpointError(f"cannot read {where} ({e.strerror or e})") from None
        kept = []
        for n, line in enumerate(lines, start=1):
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                if n == len(lines):
                    continue  # the last line, cut short by a crash
                raise CheckpointError(f"{where} line {n} is not JSON; move the file away to resume") from None
            row_step = row.get("step") if isinstance(row, dict) else None
            if isinstance(row_step, bool) or not isinstance(row_step, int):
                raise CheckpointError(f"{where} line {n} is not a metrics row (an object with an integer "
                                      f"'step'); move the file away to resume")
            if row_step <= step:
                kept.append(line)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
        tmp.replace(self.path)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
