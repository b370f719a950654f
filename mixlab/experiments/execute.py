"""Run one planned run in this process (what an executor's worker calls) and check a finished one.

``execute(payload)`` trains (``pretrain`` / ``finetune``: :func:`mixlab.pretrain` on the run folder,
resumed from its newest good checkpoint if it has one) or scores (``eval``: :mod:`.scoring` on the
parent's checkpoint), then writes ``result.json`` into the run folder, last and atomically. The
payload is plain data (it crosses process and machine boundaries): see :func:`payload`.

A run folder is locked (``flock``) while a process works in it, so a worker left over from a killed
experiment and the rerun's worker never train the same run at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mixlab.experiments.runs import PlannedRun, run_folder
from mixlab.experiments.scoring import SOURCES, score
from mixlab.run_folder import RunFolder, checkpoint_steps, read_metrics, step_dir_name, verify

RESULT = "result.json"
TORCHRUN_CONFIG = "torchrun_config.yaml"
ERROR = "error.txt"
LOCK = ".lock"
#: metric source of a training run's own numbers (its metrics.jsonl)
TRAIN_LOG = "train_log"


def payload(run: PlannedRun, root: str | Path, parent: PlannedRun | None, num_cpus: float,
            processes: int = 1) -> dict[str, Any]:
    """Everything a worker needs to execute ``run`` under the experiment folder ``root`` (JSON-able)."""
    root = Path(root).resolve()
    return {"hash": run.hash, "kind": run.kind, "key": run.keys[0], "folder": str(run_folder(root, run.hash)),
            "config": run.config, "eval": run.spec.eval, "num_cpus": num_cpus, "processes": processes,
            "parent_folder": str(run_folder(root, parent.hash)) if parent else None,
            "parent_step": run.spec.parent_step, "parent_config": parent.config if parent else None}


def execute(job: dict[str, Any]) -> dict[str, Any]:
    """Execute one run; returns its result (also in ``<folder>/result.json``). Raises what the run raised."""
    import torch

    torch.set_num_threads(max(1, int(job["num_cpus"])))  # same threads under every executor: same numbers
    folder = Path(job["folder"])
    folder.mkdir(parents=True, exist_ok=True)
    with _locked(folder / LOCK):
        (folder / RESULT).unlink(missing_ok=True)
        started, clock = _now(), time.perf_counter()
        try:
            result = _evaluate(job) if job["kind"] == "eval" else _train(job, folder)
        except BaseException:
            (folder / ERROR).write_text(traceback.format_exc(), encoding="utf-8")
            raise
        (folder / ERROR).unlink(missing_ok=True)
        result.update(hash=job["hash"], kind=job["kind"], status="done", started_at=started, finished_at=_now(),
                      wall_time_s=round(time.perf_counter() - clock, 3), host=socket.gethostname())
        _write_json_atomic(folder / RESULT, result)
    return result


def _train(job: dict[str, Any], folder: Path) -> dict[str, Any]:
    import mixlab
    from mixlab.train.config import PretrainConfig

    config = dict(job["config"], out_dir=str(folder))
    if job["parent_folder"]:
        parent = Path(job["parent_folder"])
        step = job["parent_step"]
        config["init_from"] = str(RunFolder(parent).checkpoint(step) if step else parent)
    done_steps = checkpoint_steps(RunFolder(folder).checkpoints)
    resume = bool(done_steps)
    # the step the trainer resumes from: its newest checkpoint that verifies (a damaged one is skipped)
    resumed_from = next((s for s in reversed(done_steps) if verify(RunFolder(folder).checkpoint(s)) is None), None)
    if int(job.get("processes", 1)) > 1:
        _torchrun(PretrainConfig(**config), folder, resume, int(job["processes"]))
    else:
        mixlab.pretrain(PretrainConfig(**config), resume=resume, registry=_registry(), progress=False)
    records = read_metrics(folder)
    train = [r for r in records if "loss" in r]
    evals = [r for r in records if "eval_loss" in r]
    overall: dict[str, float] = {}
    if train:
        overall.update(loss=float(train[-1]["loss"]), accuracy=float(train[-1].get("accuracy", float("nan"))))
    if evals:
        overall.update(eval_loss=float(evals[-1]["eval_loss"]), eval_accuracy=float(evals[-1]["eval_accuracy"]))
    return {"steps": int(config["steps"]), "tokens": int(sum(r.get("tokens", 0) for r in train)),
            "metrics": {"overall": overall, "tasks": {}}, "metric_source": TRAIN_LOG,
            "resumed_from_step": resumed_from}


def _torchrun(config: Any, folder: Path, resume: bool, processes: int) -> None:
    """Train with ``torchrun --standalone --nproc_per_node processes -m mixlab train`` (one node, DDP/FSDP)."""
    import subprocess
    import sys

    import yaml

    path = folder / TORCHRUN_CONFIG
    path.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False), encoding="utf-8")
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
               "-m", "mixlab", "train", str(path), "--out", str(folder), "--no-progress", *(["--resume"] * resume)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"torchrun exited with {done.returncode}: {' '.join(command)}\n{done.stderr[-3000:]}")


def _evaluate(job: dict[str, Any]) -> dict[str, Any]:
    settings = job["eval"]
    parent = Path(job["parent_folder"])
    step = job["parent_step"] or max(checkpoint_steps(RunFolder(parent).checkpoints), default=0)
    checkpoint = RunFolder(parent).checkpoint(step)
    tasks = score(checkpoint, job["parent_config"], settings, registry=_registry(), run_dir=Path(job["folder"]))
    overall: dict[str, float] = {}
    for metric in sorted({m for values in tasks.values() for m in values}):
        values = [v[metric] for v in tasks.values() if metric in v]
        overall[metric] = sum(values) / len(values)
    return {"steps": step, "tokens": 0, "metrics": {"overall": overall, "tasks": tasks},
            "metric_source": SOURCES[settings["scorer"]], "resumed_from_step": None}


def check_done(run: PlannedRun, root: str | Path) -> str | None:
    """``None`` when ``run``'s folder holds its result and the checkpoints it and its children need, else why not."""
    folder = run.folder(root)
    try:
        result = json.loads((folder / RESULT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return f"no readable {RESULT}"
    if result.get("hash") != run.hash or result.get("status") != "done":
        return f"{RESULT} is for run {result.get('hash')!r} with status {result.get('status')!r}"
    if run.kind == "eval":
        return None
    steps = {int(run.config["steps"]) if run.config else 0, *run.needed_steps}
    for step in sorted(steps):
        checkpoint = RunFolder(folder).checkpoint(step)
        if not checkpoint.is_dir():
            return f"checkpoint {step_dir_name(step)} is missing"
        problem = verify(checkpoint, deep=False)
        if problem:
            return f"checkpoint {step_dir_name(step)}: {problem}"
    return None


def read_result(run: PlannedRun, root: str | Path) -> dict[str, Any]:
    return json.loads((run.folder(root) / RESULT).read_text(encoding="utf-8"))


_REGISTRY: list[Any] = []


def _registry() -> Any:
    """The installed registry, loaded once per worker process."""
    if not _REGISTRY:
        from mixlab.registry import load_registry

        _REGISTRY.append(load_registry())
    return _REGISTRY[0]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # waits for a leftover worker of a killed run, if any
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    temporary = path.with_name(path.name + f".tmp{os.getpid()}")
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


__all__ = ["ERROR", "RESULT", "TRAIN_LOG", "check_done", "execute", "payload", "read_result"]
