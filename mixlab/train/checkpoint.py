"""Atomic, verified checkpoints: ``<run>/checkpoints/step_XXXXXXX/``.

Each checkpoint is written into a temporary folder, every file fsynced, a ``manifest.json`` with
SHA-256 checksums written last, then the folder is renamed into place with ``os.replace``. On
load, a checkpoint whose manifest is missing or whose files do not match it is skipped with a
warning and the previous good one is used. Only the newest ``keep`` checkpoints are kept.

Files: ``model.pt``, ``optimizer.pt`` and ``trainer.pt`` (step, per-rank data and RNG states).

The folder names, the manifest's format and :func:`~mixlab.run_folder.verify` live in
:mod:`mixlab.run_folder` (the report reads the same folders).

A process killed at any moment leaves only complete checkpoints under ``step_*`` names: a replaced
or pruned folder is first renamed out of the way (``.trash-*``), and leftovers (``.step_*.tmp-*``,
``.trash-*``) are removed by the next save. Test hook: the environment variable
``MIXLAB_TEST_CHECKPOINT_FILE_DELAY`` (seconds) makes :meth:`CheckpointManager.save` sleep after
each file it writes, so a test can kill a run reliably while a checkpoint is half-written.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

from mixlab import run_folder
from mixlab.errors import CheckpointError
from mixlab.run_folder import CHECKPOINTS, checkpoint_steps, sha256_of, step_dir_name

log = logging.getLogger(__name__)

MANIFEST = run_folder.CHECKPOINT_MANIFEST
FORMAT_VERSION = run_folder.CHECKPOINT_FORMAT
DELAY_ENV = "MIXLAB_TEST_CHECKPOINT_FILE_DELAY"  # test-only: sleep after each file written


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
        return checkpoint_steps(self.root)

    def save(self, step: int, parts: dict[str, Any]) -> Path:
        """Write ``parts`` (file stem -> object) as checkpoint ``step``; returns its folder."""
        self.root.mkdir(parents=True, exist_ok=True)
        final = self.root / step_dir_name(step)
        staging = self.root / f".{final.name}.tmp-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        files = {}
        delay = float(os.environ.get(DELAY_ENV) or 0)
        for stem, obj in parts.items():
            path = staging / f"{stem}.pt"
            self._save(obj, str(path))
            with open(path, "rb+") as handle:
                os.fsync(handle.fileno())
            files[path.name] = {"sha256": sha256_of(path), "bytes": path.stat().st_size}
            if delay:
                time.sleep(delay)
        manifest = {"format": FORMAT_VERSION, "step": step, "files": files}
        with open(staging / MANIFEST, "w", encoding="utf-8") as handle:
            json.dump(manifest, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        _fsync_dir(staging)
        if final.exists():  # re-saving a step (e.g. after a resume): move the old folder away atomically
            self._discard(final)
        os.replace(staging, final)
        _fsync_dir(self.root)
        self._prune()
        return final

    def _discard(self, folder: Path) -> None:
        """Rename ``folder`` out of the ``step_*`` namespace (atomic), then delete it: a kill half-way
        through the deletion leaves a ``.trash-*`` folder, never a half-deleted checkpoint."""
        trash = self.root / f".trash-{folder.name}-{os.getpid()}"
        shutil.rmtree(trash, ignore_errors=True)
        os.replace(folder, trash)
        shutil.rmtree(trash, ignore_errors=True)

    def _prune(self) -> None:
        for step in self.steps()[: -self.keep]:
            self._discard(self.root / step_dir_name(step))
        for left in [*self.root.glob(".step_*.tmp-*"), *self.root.glob(".trash-*")]:  # left by a killed save
            shutil.rmtree(left, ignore_errors=True)

    def verify(self, folder: Path) -> str | None:
        """None when ``folder`` is complete and matches its manifest (SHA-256 of every file), else why not."""
        return run_folder.verify(folder, deep=True)

    def latest(self) -> Path | None:
        """The newest checkpoint that verifies; broken newer ones are reported, skipped and kept in
        ``self.skipped`` (folder -> why), so a caller can name them without verifying them again."""
        self.skipped: dict[Path, str] = {}
        for step in reversed(self.steps()):
            folder = self.root / step_dir_name(step)
            problem = self.verify(folder)
            if problem is None:
                return folder
            self.skipped[folder] = problem
            log.warning("skipping checkpoint %s: %s; falling back to an earlier one", folder, problem)
        return None

    def problems(self) -> dict[Path, str]:
        """Every ``step_*`` folder that does not verify, with why (empty when all are good)."""
        found = {}
        for step in self.steps():
            folder = self.root / step_dir_name(step)
            problem = self.verify(folder)
            if problem is not None:
                found[folder] = problem
        return found

    def load(self, folder: Path, stems: tuple[str, ...]) -> dict[str, Any]:
        return {stem: self._load(str(folder / f"{stem}.pt")) for stem in stems}


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint folder from a checkpoint, a ``checkpoints`` folder or a run folder (newest good one)."""
    path = Path(path)
    if (path / MANIFEST).is_file():
        return path
    for root in (path / CHECKPOINTS, path):
        manager = CheckpointManager(root, keep=1, save_fn=None, load_fn=None)
        if manager.steps():
            found = manager.latest()
            if found is not None:
                return found
            raise CheckpointError(f"no checkpoint under {str(root)!r} verifies against its manifest; "
                                  "all are truncated or corrupted")
    raise CheckpointError(f"{str(path)!r} is not a checkpoint (no {MANIFEST}) and holds no step_XXXXXXX folders; "
                          "give a run folder or one of its checkpoints/step_* folders")


__all__ = ["DELAY_ENV", "FORMAT_VERSION", "MANIFEST", "CheckpointManager", "resolve_checkpoint", "step_dir_name"]
