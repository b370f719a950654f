"""``MetricsLog``: one JSON line per log step in ``RUN_DIR/metrics.jsonl`` (and TensorBoard when installed).

The file's name, its keys and its reader live in :mod:`mixlab.run_folder`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mixlab.run_folder import RunFolder, parse_metric_line, read_metrics


class MetricsLog:
    """Appends records to ``metrics.jsonl``. ``truncate_after(step)`` drops records past ``step``
    (a resumed run rewrites the steps it repeats, so the file matches an uninterrupted run)."""

    def __init__(self, run_dir: str | Path, *, enabled: bool = True, tensorboard: bool = True) -> None:
        folder = RunFolder(run_dir)
        self.path = folder.metrics
        self.enabled = enabled
        self._tb = _summary_writer(folder.tensorboard) if enabled and tensorboard else None

    def truncate_after(self, step: int) -> None:
        if not self.enabled or not self.path.is_file():
            return
        kept = [line for line in self.path.read_text(encoding="utf-8").splitlines()
                if (record := parse_metric_line(line)) is not None and record["step"] <= step]
        staging = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        staging.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
        os.replace(staging, self.path)  # atomic: a kill here leaves the old file or the new one, never half

    def write(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, sort_keys=True) + "\n")
        if self._tb is not None:
            _write_scalars(self._tb, record)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()


def _summary_writer(folder: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional: metrics.jsonl has everything
        return None
    return SummaryWriter(str(folder))


def _write_scalars(writer: Any, record: dict[str, Any], prefix: str = "") -> None:
    step = record["step"]
    for key, value in record.items():
        if key == "step":
            continue
        if isinstance(value, dict):
            for sub, number in value.items():
                writer.add_scalar(f"{prefix}{key}/{sub}", number, step)
        elif isinstance(value, int | float):
            writer.add_scalar(f"{prefix}{key}", value, step)


__all__ = ["MetricsLog", "read_metrics"]
