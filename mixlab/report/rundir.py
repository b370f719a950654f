"""Deprecated: the run folder is read by :mod:`mixlab.run_folder` (``load_run`` is ``run_folder.load``)."""

from __future__ import annotations

import warnings
from typing import Any

from mixlab import run_folder

_MOVED = {"Run": "Run", "Checkpoint": "Checkpoint", "load_run": "load", "METRICS_NAME": "METRICS",
          "AFFINITY_NAME": "AFFINITY", "CHECKPOINT_DIR": "CHECKPOINTS", "CHECKPOINT_MANIFEST": "CHECKPOINT_MANIFEST",
          "MAX_QUOTED_BAD_LINES": "MAX_QUOTED_BAD_LINES"}


def __getattr__(name: str) -> Any:
    if name not in _MOVED:
        raise AttributeError(f"module 'mixlab.report.rundir' has no attribute {name!r}; it moved to mixlab.run_folder")
    warnings.warn(f"mixlab.report.rundir.{name} is deprecated; use mixlab.run_folder.{_MOVED[name]}",
                  DeprecationWarning, stacklevel=2)
    return getattr(run_folder, _MOVED[name])
