"""Run an experiment: plan, skip what is done, execute the rest in dependency order, summarise.

```
spec ──protocol.expand──▶ runs ──Resolver──▶ Plan (hash per run) ──▶ DIR/results.sqlite (pending)
  done run (table says done AND folder verifies) ─▶ skipped
  finished but unrecorded (result.json verifies) ─▶ recorded, skipped
  anything else ─▶ executor (a cut training run resumes from its newest good checkpoint)
finished runs ─▶ protocol.summarize ─▶ DIR/<table>.csv, DIR/*.png, DIR/summary.json
```

Only this driver process writes the table; a second driver on the same folder is refused.
"""

from __future__ import annotations

import fcntl
import json
import os
import warnings
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mixlab.errors import ConfigError
from mixlab.experiments.execute import ERROR, check_done, payload, read_result
from mixlab.experiments.protocols import get_protocol
from mixlab.experiments.protocols.base import Results, Summary
from mixlab.experiments.resolve import Resolver
from mixlab.experiments.results import ResultsTable
from mixlab.experiments.runs import Plan, PlannedRun
from mixlab.experiments.spec import ExperimentSpec

SPEC_COPY = "experiment.json"
SUMMARY = "summary.json"
LOCK = ".experiment.lock"


@dataclass(frozen=True, kw_only=True)
class ExperimentResult:
    """What one call of :func:`run_experiment` did (hashes), and the protocol's summary (``None`` if not made)."""

    root: Path
    plan: Plan
    executed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    blocked: list[str] = field(default_factory=list)
    summary: Summary | None = None

    @property
    def ok(self) -> bool:
        return not self.failed and not self.blocked


def load_spec(spec: ExperimentSpec | str | Path) -> ExperimentSpec:
    return spec if isinstance(spec, ExperimentSpec) else ExperimentSpec.from_file(spec)


def plan_experiment(spec: ExperimentSpec | str | Path, *, registry: Any = None, check_files: bool = True) -> Plan:
    """The experiment's runs, hashed and in dependency order (nothing is run or written)."""
    spec = load_spec(spec)
    resolver = Resolver(spec.base, registry, check_files=check_files)
    return resolver.plan(get_protocol(spec.protocol)().expand(spec, resolver.registry))


def run_experiment(spec: ExperimentSpec | str | Path, out: str | Path, *, executor: str = "local", workers: int = 1,
                   address: str | None = None, registry: Any = None, progress: bool = True) -> ExperimentResult:
    """Run (or finish) the experiment ``spec`` in folder ``out``; see the module doc for what is rerun."""
    from mixlab.experiments.executors import make_executor

    spec = load_spec(spec)
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    with _driver_lock(root):
        plan = plan_experiment(spec, registry=registry)
        table = ResultsTable(root)
        _record_plan(spec, plan, table, root)
        skipped, todo = _split_done(plan, table, root)
        result = ExperimentResult(root=root, plan=plan, skipped=skipped)
        if todo:
            pool = make_executor(executor, workers=workers, num_cpus=spec.resources.num_cpus,
                                 num_gpus=spec.resources.num_gpus, address=address)
            try:
                _execute(plan, todo, pool, table, root, spec, result, progress)
            except BaseException:
                pool.close(cancel=True)
                raise
            pool.close()
        summary = summarize(spec, root, plan=plan, table=table) if result.ok else None
        return ExperimentResult(**{**result.__dict__, "summary": summary})


def _record_plan(spec: ExperimentSpec, plan: Plan, table: ResultsTable, root: Path) -> None:
    table.create()
    old = table.meta().get("spec")
    if old is not None and old.get("name") != spec.name:
        warnings.warn(f"{root} holds experiment {old.get('name')!r}; adding the runs of {spec.name!r} to it "
                      f"(runs are matched by hash, so nothing is mixed up)", stacklevel=3)
    from mixlab import __version__

    table.set_meta({"spec": spec.to_dict(), "name": spec.name, "protocol": spec.protocol, "mixlab": __version__})
    (root / SPEC_COPY).write_text(json.dumps(spec.to_dict(), indent=1, sort_keys=True), encoding="utf-8")
    table.add_planned(
        {"hash": run.hash, "key": run.keys[0], "keys": list(run.keys), "kind": run.kind, "parent": run.parent_hash,
         "mixture": run.mixture, "seed": (run.config or {}).get("seed", run.spec.labels.get("seed")),
         "steps": run.spec.steps, "run_folder": str(run.folder(".")), "labels": run.spec.labels,
         "config": run.config or run.spec.eval}
        for run in plan.runs)


def _split_done(plan: Plan, table: ResultsTable, root: Path) -> tuple[list[str], list[PlannedRun]]:
    skipped, todo = [], []
    for run in plan.runs:
        row = table.row(run.hash)
        problem = check_done(run, root)
        if problem is None:
            if row is None or row["status"] != "done":  # finished, but the driver died before recording it
                table.record(read_result(run, root))
            skipped.append(run.hash)
        else:
            if row is not None and row["status"] == "done":
                warnings.warn(f"run {run.keys[0]!r} ({run.hash}) is done in the table but its folder does not "
                              f"verify ({problem}); running it again", stacklevel=3)
            table.mark(run.hash, "pending")
            todo.append(run)
    return skipped, todo


def _execute(plan: Plan, todo: list[PlannedRun], pool: Any, table: ResultsTable, root: Path, spec: ExperimentSpec,
             result: ExperimentResult, progress: bool) -> None:
    from tqdm.auto import tqdm

    by_hash = plan.by_hash()
    done = set(result.skipped)
    waiting = {run.hash: run for run in todo}
    running: dict[Future, PlannedRun] = {}
    bar = tqdm(total=len(todo), desc=f"experiment {spec.name}", unit="run", disable=not progress)
    try:
        while waiting or running:
            for run_hash, run in list(waiting.items()):
                parent = run.parent_hash
                if parent in result.failed or parent in result.blocked:
                    result.blocked.append(run_hash)
                    table.mark(run_hash, "blocked", f"parent run {parent} did not finish")
                    del waiting[run_hash]
                    bar.update(1)
                elif parent is None or parent in done:
                    job = payload(run, root, by_hash.get(parent) if parent else None, spec.resources.num_cpus,
                                  spec.resources.processes)
                    table.mark_running(run_hash, datetime.now(UTC).isoformat(timespec="seconds"))
                    running[pool.submit(job)] = run
                    del waiting[run_hash]
            if not running:
                break
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in finished:
                run = running.pop(future)
                try:
                    table.record(future.result())
                    done.add(run.hash)
                    result.executed.append(run.hash)
                except Exception as exc:  # noqa: BLE001 -- any failure of one run is recorded; the others go on
                    message = _describe_failure(exc, run.folder(root))
                    result.failed[run.hash] = message
                    table.mark(run.hash, "failed", message)
                bar.update(1)
                if result.failed:
                    bar.set_postfix(failed=len(result.failed))
    finally:
        bar.close()


def _describe_failure(exc: BaseException, folder: Path) -> str:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    text = f"{type(exc).__name__}: {lines[-1] if lines else ''}"[:500]
    if (folder / ERROR).is_file():
        text += f" (traceback: {folder / ERROR})"
    return text


def summarize(spec: ExperimentSpec | str | Path, root: str | Path, *, plan: Plan | None = None,
              table: ResultsTable | None = None) -> Summary:
    """Write the protocol's tables (``DIR/<name>.csv``), figures and ``summary.json`` from the results table."""
    spec = load_spec(spec)
    root = Path(root)
    plan = plan or plan_experiment(spec)
    table = table or ResultsTable(root)
    rows = {row["hash"]: row for row in table.rows()}
    protocol = get_protocol(spec.protocol)()
    summary = protocol.summarize(spec, Results(plan, rows, spec.eval.metric, root), root)
    for name, table_rows in summary.tables.items():
        if name != "cotraining" or not (root / f"{name}.csv").is_file():  # cotrain writes its own, exactly
            _write_csv(root / f"{name}.csv", table_rows)
    (root / SUMMARY).write_text(json.dumps({"title": summary.title, "tables": list(summary.tables),
                                            "figures": summary.figures, "notes": summary.notes,
                                            "captions": summary.captions, "metric": spec.eval.metric,
                                            "higher_is_better": spec.eval.higher_is_better},
                                           indent=1), encoding="utf-8")
    return summary


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    import csv

    columns = list(dict.fromkeys(k for row in rows for k in row))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


@contextmanager
def _driver_lock(root: Path) -> Iterator[None]:
    with open(root / LOCK, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise ConfigError(f"another `mixlab experiment run` is working in {root} (pid {handle.read().strip()}); "
                              f"fix: wait for it, or use another --out") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


__all__ = ["ExperimentResult", "load_spec", "plan_experiment", "run_experiment", "summarize"]
