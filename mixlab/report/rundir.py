"""Read a run folder into a :class:`Run`, tolerating every missing or broken piece.

Layout read (as written by ``mixlab.train``)::

    RUN_DIR/config.json | config.yaml | config.yml   the training config
    RUN_DIR/metrics.jsonl                             one JSON object per logged step
    RUN_DIR/mixture_manifest.json | mixture.json      the mixture manifest (Mixture.manifest())
    RUN_DIR/env.json                                  versions, platform, device, git commit
    RUN_DIR/checkpoints/step_XXXXXXX/                 one folder per checkpoint
    RUN_DIR/affinity.csv                              optional transfer table for the affinity section

Nothing here raises for a missing or malformed file: each problem becomes a sentence in
``Run.notes`` (keyed by the part it concerns) that the page shows where the part would be.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONFIG_NAMES = ("config.json", "config.yaml", "config.yml")
METRICS_NAME = "metrics.jsonl"
MANIFEST_NAMES = ("mixture_manifest.json", "mixture.json")
ENV_NAMES = ("env.json", "environment.json")
AFFINITY_NAME = "affinity.csv"
CHECKPOINT_DIR = "checkpoints"
CHECKPOINT_MANIFEST = "manifest.json"
_STEP_DIR = re.compile(r"^step_(\d+)$")
#: at most this many malformed metric lines are quoted on the page
MAX_QUOTED_BAD_LINES = 5


@dataclass(frozen=True, kw_only=True)
class Checkpoint:
    """A checkpoint folder: its step (from the folder name), size, file count, and ``problem``
    (``None`` when its ``manifest.json`` lists every file at the recorded size; checksums are not read)."""

    step: int
    path: Path
    num_bytes: int
    num_files: int
    problem: str | None


@dataclass(frozen=True, kw_only=True)
class Run:
    """Everything the report shows about one run folder; ``None`` marks a missing part."""

    path: Path
    config: dict[str, Any] | None
    config_file: str | None
    metrics: list[dict[str, Any]]
    num_bad_lines: int
    bad_lines: list[str]
    manifest: dict[str, Any] | None
    env: dict[str, Any] | None
    checkpoints: list[Checkpoint]
    notes: dict[str, str] = field(default_factory=dict)


def load_run(run_dir: str | Path) -> Run:
    """Read ``run_dir``; problems (a missing folder included) are recorded in ``Run.notes``, never raised."""
    path = Path(run_dir)
    notes: dict[str, str] = {}
    config, config_file = _read_config(path, notes)
    metrics, num_bad, bad_lines = _read_metrics(path / METRICS_NAME, notes)
    manifest = _read_first_json(path, MANIFEST_NAMES, "manifest", notes)
    env = _read_first_json(path, ENV_NAMES, "env", notes)
    return Run(path=path, config=config, config_file=config_file, metrics=metrics, num_bad_lines=num_bad,
               bad_lines=bad_lines, manifest=manifest, env=env, checkpoints=_list_checkpoints(path, notes),
               notes=notes)


def _read_config(path: Path, notes: dict[str, str]) -> tuple[dict[str, Any] | None, str | None]:
    for name in CONFIG_NAMES:
        file = path / name
        if not file.is_file():
            continue
        try:
            text = file.read_text(encoding="utf-8")
            if name.endswith(".json"):
                data = json.loads(text)
            else:
                import yaml

                data = yaml.safe_load(text)
        except Exception as exc:  # broad: yaml.YAMLError has no builtin base; any read failure is a note
            notes["config"] = f"{name} could not be parsed ({exc.__class__.__name__}: {exc})"
            return None, name
        if not isinstance(data, dict):
            notes["config"] = f"{name} holds a {type(data).__name__}, not a mapping"
            return None, name
        return data, name
    notes["config"] = f"no {' / '.join(CONFIG_NAMES)} in the run folder"
    return None, None


def _read_metrics(file: Path, notes: dict[str, str]) -> tuple[list[dict[str, Any]], int, list[str]]:
    """Records with a numeric ``step``; other non-blank lines are counted and a few quoted."""
    if not file.is_file():
        notes["metrics"] = f"no {METRICS_NAME} in the run folder"
        return [], 0, []
    records: list[dict[str, Any]] = []
    bad: list[str] = []
    num_bad = 0
    with file.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            record = _parse_metric_line(line)
            if record is None:
                num_bad += 1
                if len(bad) < MAX_QUOTED_BAD_LINES:
                    bad.append(f"line {number}: {line.strip()[:120]}")
                continue
            records.append(record)
    if not records:
        notes["metrics"] = f"{METRICS_NAME} has no valid records"
    return records, num_bad, bad


def _parse_metric_line(line: str) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    step = record.get("step")
    if isinstance(step, bool) or not isinstance(step, int | float) or not math.isfinite(step):
        return None
    return record


def _read_json_object(file: Path, key: str, notes: dict[str, str]) -> dict[str, Any] | None:
    if not file.is_file():
        notes[key] = f"no {file.name} in the run folder"
        return None
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        notes[key] = f"{file.name} could not be read ({exc.__class__.__name__}: {exc})"
        return None
    if not isinstance(data, dict):
        notes[key] = f"{file.name} holds a {type(data).__name__}, not a JSON object"
        return None
    return data


def _read_first_json(path: Path, names: tuple[str, ...], key: str, notes: dict[str, str]) -> dict[str, Any] | None:
    for name in names:
        if (path / name).is_file():
            return _read_json_object(path / name, key, notes)
    notes[key] = f"no {' / '.join(names)} in the run folder"
    return None


def _list_checkpoints(path: Path, notes: dict[str, str]) -> list[Checkpoint]:
    folder = path / CHECKPOINT_DIR
    if not folder.is_dir():
        notes["checkpoints"] = f"no {CHECKPOINT_DIR}/ folder in the run folder"
        return []
    found = []
    for child in sorted(folder.iterdir()):
        match = _STEP_DIR.match(child.name)
        if not match or not child.is_dir():
            continue
        files = [f for f in child.rglob("*") if f.is_file()]
        found.append(Checkpoint(step=int(match.group(1)), path=child, num_files=len(files),
                                num_bytes=sum(f.stat().st_size for f in files), problem=_checkpoint_problem(child)))
    if not found:
        notes["checkpoints"] = f"{CHECKPOINT_DIR}/ holds no step_XXXXXXX folders"
    return sorted(found, key=lambda c: c.step)


def _checkpoint_problem(folder: Path) -> str | None:
    """Why ``folder`` is not a complete checkpoint (as ``mixlab.train.checkpoint`` writes them), or ``None``.

    Checks the manifest and file sizes only: hashing every checkpoint would make the report slow.
    """
    try:
        manifest = json.loads((folder / CHECKPOINT_MANIFEST).read_text(encoding="utf-8"))
        files = manifest["files"]
        for name, meta in files.items():
            path = folder / name
            if not path.is_file():
                return f"{name} missing"
            if path.stat().st_size != meta["bytes"]:
                return f"{name} has {path.stat().st_size} bytes, manifest says {meta['bytes']}"
    except (OSError, ValueError) as exc:
        return f"no readable {CHECKPOINT_MANIFEST} ({exc.__class__.__name__})"
    except (KeyError, TypeError, AttributeError) as exc:
        return f"{CHECKPOINT_MANIFEST} lacks file sizes ({exc.__class__.__name__}: {exc})"
    return None
