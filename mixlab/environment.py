"""What a run records about where it ran: ``RUN_DIR/env.json`` (see :mod:`mixlab.run_folder`; the report shows it).

Versions come from package metadata (nothing heavy is imported); the git commit is that of the
working directory's repository, if any.

>>> env = collect_environment(device="cpu", git_dir=None)
>>> import mixlab
>>> env["device"], env["git_commit"], env["mixlab"] == mixlab.__version__
('cpu', None, True)
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from mixlab.run_folder import ENV, RunFolder

ENV_FILE = ENV  # the name as mixlab.run_folder gives it
#: distributions whose versions are recorded (None when not installed)
PACKAGES = ("mixlab", "torch", "transformers", "torch_xla", "sentencepiece", "numpy")


def collect_environment(*, device: str | None = None, git_dir: str | Path | None = ".", **extra: Any) -> dict[str, Any]:
    """Python, package versions, platform, ``device``, git commit (of ``git_dir``; ``None`` skips) and ``extra``."""
    env: dict[str, Any] = {"python": platform.python_version()}
    for name in PACKAGES:
        env[name] = _version(name)
    env.update(platform=platform.platform(), hostname=socket.gethostname(), device=device,
               argv=" ".join(sys.argv), started_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    env.update(_git(git_dir) if git_dir is not None else {"git_commit": None, "git_dirty": None})
    env.update(extra)
    return env


def write_environment(run_dir: str | Path, **kwargs: Any) -> Path:
    """Write :func:`collect_environment` (``kwargs`` passed on) to ``RUN_DIR/env.json``; return the path."""
    path = RunFolder(run_dir).env
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(collect_environment(**kwargs), indent=1, default=str) + "\n", encoding="utf-8")
    return path


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _git(folder: str | Path) -> dict[str, Any]:
    """``git_commit`` and ``git_dirty`` of the repository holding ``folder``; ``None`` outside one."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):  # no git binary, or a hung file system
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"git_commit": commit, "git_dirty": None if status is None else bool(status)}
