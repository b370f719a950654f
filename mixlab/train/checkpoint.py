"""Atomic, verified checkpoints: ``<run>/checkpoints/step_XXXXXXX/``.

Each checkpoint is written into a temporary folder, every file fsynced, a ``manifest.json`` with
SHA-256 checksums written last, then the folder is renamed into place with ``os.replace``. On
load, a checkpoint whose manifest is missing or whose files do not match it is skipped with a
warning and the previous good one is used. Only the newest ``keep`` checkpoints are kept.

Files: ``model.pt``, ``optimizer.pt`` and ``trainer.pt`` (step, per-rank data and RNG states).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
from pathlib import Path
from typing import Any

from mixlab.errors import CheckpointError

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
_STEP_DIR = re.compile(r"^step_(\d{7,})$")


def step_dir_name(step: int) -> str:
    return f"step_{step:07d}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class CheckpointManager:
    """Saves and finds checkpoints under ``root``; ``save_fn(obj, path)``/``load_fn(path)`` do the I/O
    (the backend's ``save``/``load``)."""

    def __init__(self, root: str | Path, *, keep: int, save_fn: Any, load_fn: Any) -> None:
        self.root = Path(root)
        self.keep = keep
        self._save, self._load = save_fn, load_fn

    def steps(self) -> list[int]:
        """Steps of the checkpoint folders present (not yet verified), ascending."""
        if not self.root.is_dir():
            return []
        return sorted(int(m.group(1)) for p in self.root.iterdir() if (m := _STEP_DIR.match(p.name)) and p.is_dir())

    def save(self, step: int, parts: dict[str, Any]) -> Path:
        """Write ``parts`` (file stem -> object) as checkpoint ``step``; returns its folder."""
        self.root.mkdir(parents=True, exist_ok=True)
        final = self.root / step_dir_name(step)
        staging = self.root / f".{final.name}.tmp-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        files = {}
        for stem, obj in parts.items():
            path = staging / f"{stem}.pt"
            self._save(obj, str(path))
            with open(path, "rb+") as handle:
                os.fsync(handle.fileno())
            files[path.name] = {"sha256": _sha256(path), "bytes": path.stat().st_size}
        manifest = {"format": FORMAT_VERSION, "step": step, "files": files}
        with open(staging / MANIFEST, "w", encoding="utf-8") as handle:
            json.dump(manifest, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        _fsync_dir(staging)
        if final.exists():  # re-saving a step (e.g. after a resume): replace the old folder
            shutil.rmtree(final)
        os.replace(staging, final)
        _fsync_dir(self.root)
        self._prune()
        return final

    def _prune(self) -> None:
        for step in self.steps()[: -self.keep]:
            shutil.rmtree(self.root / step_dir_name(step), ignore_errors=True)
        for staging in self.root.glob(".step_*.tmp-*"):  # left by a save that was killed
            shutil.rmtree(staging, ignore_errors=True)

    def verify(self, folder: Path) -> str | None:
        """None when ``folder`` is complete and matches its manifest, else why not."""
        try:
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            return f"no readable {MANIFEST} ({exc.__class__.__name__})"
        if manifest.get("format") != FORMAT_VERSION:
            return f"format {manifest.get('format')!r}, expected {FORMAT_VERSION}"
        for name, meta in manifest["files"].items():
            path = folder / name
            if not path.is_file():
                return f"{name} is missing"
            if path.stat().st_size != meta["bytes"] or _sha256(path) != meta["sha256"]:
                return f"{name} does not match its checksum (truncated or corrupted)"
        return None

    def latest(self) -> Path | None:
        """The newest checkpoint that verifies; broken newer ones are reported and skipped."""
        for step in reversed(self.steps()):
            folder = self.root / step_dir_name(step)
            problem = self.verify(folder)
            if problem is None:
                return folder
            log.warning("skipping checkpoint %s: %s; falling back to an earlier one", folder, problem)
        return None

    def load(self, folder: Path, stems: tuple[str, ...]) -> dict[str, Any]:
        return {stem: self._load(str(folder / f"{stem}.pt")) for stem in stems}


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint folder from a checkpoint, a ``checkpoints`` folder or a run folder (newest good one)."""
    path = Path(path)
    if (path / MANIFEST).is_file():
        return path
    for root in (path / "checkpoints", path):
        manager = CheckpointManager(root, keep=1, save_fn=None, load_fn=None)
        if manager.steps():
            found = manager.latest()
            if found is not None:
                return found
            raise CheckpointError(f"no checkpoint under {str(root)!r} verifies against its manifest; "
                                  "all are truncated or corrupted")
    raise CheckpointError(f"{str(path)!r} is not a checkpoint (no {MANIFEST}) and holds no step_XXXXXXX folders; "
                          "give a run folder or one of its checkpoints/step_* folders")
