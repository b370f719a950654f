"""``MetricsLog``: one JSON line per log step in ``<run>/metrics.jsonl`` (and TensorBoard when installed)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class MetricsLog:
    """Appends records to ``metrics.jsonl``. ``truncate_after(step)`` drops records past ``step``
    (a resumed run rewrites the steps it repeats, so the file matches an uninterrupted run)."""

    def __init__(self, run_dir: str | Path, *, enabled: bool = True, tensorboard: bool = True) -> None:
        self.path = Path(run_dir) / "metrics.jsonl"
        self.enabled = enabled
        self._tb = _summary_writer(Path(run_dir) / "tensorboard") if enabled and tensorboard else None

    def truncate_after(self, step: int) -> None:
        if not self.enabled or not self.path.is_file():
            return
        kept = [line for line in self.path.read_text(encoding="utf-8").splitlines()
                if (record := _parse(line)) is not None and record.get("step", 0) <= step]
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


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    """The records of ``<run_dir>/metrics.jsonl`` (a line cut off by a killed run is left out)."""
    path = Path(run_dir) / "metrics.jsonl"
    return [record for line in path.read_text(encoding="utf-8").splitlines() if (record := _parse(line)) is not None]


def _parse(line: str) -> dict[str, Any] | None:
    """A record, or None for a blank or partial line (a run killed while writing it)."""
    try:
        return json.loads(line) if line.strip() else None
    except json.JSONDecodeError:
        return None


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
