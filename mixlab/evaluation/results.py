"""Evaluation results as plain data: per task, per family, overall; and reading them back from a run folder.

```
TaskResult  task, family, metrics {key: 0-100}, score = mean of its finite metric values, num_examples
EvalResult  tasks {name: TaskResult}, families {family: mean task score}, overall = mean task score, skipped
RUN_DIR/eval/<split>/<task>.metrics.json  one TaskResult each  --read_results(run)--> {split: EvalResult}
```

Averages are macro: a task's score is the mean of its metric values (e.g. ``define``: BLEU, ROUGE-1,
ROUGE-2, ROUGE-Lsum), a family's the mean of its tasks' scores, and the overall figure the mean over
tasks (as ExT5's averages over tasks). A metric that is not a finite number (a correlation of constant
predictions is ``nan``) is kept in ``metrics`` but left out of the score.

>>> a = TaskResult(task="demo/a", family="QA", split="validation", num_examples=2, metrics={"em": 50.0, "f1": 70.0})
>>> b = TaskResult(task="demo/b", family="NLI", split="validation", num_examples=2, metrics={"accuracy": 80.0})
>>> result = EvalResult.from_tasks([a, b], split="validation")
>>> a.score, result.families, result.overall
(60.0, {'NLI': 80.0, 'QA': 60.0}, 70.0)
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field

from mixlab.run_folder import EVAL, EVAL_SUMMARY_SUFFIX

#: version of the ``<task>.metrics.json`` files; a file with another version is evaluated again
SUMMARY_FORMAT = 1


def mean_of_finite(values: Any) -> float | None:
    """The mean of the finite numbers in ``values``, or ``None`` when there are none."""
    finite = [float(v) for v in values if isinstance(v, int | float) and math.isfinite(v)]
    return statistics.fmean(finite) if finite else None


class TaskResult(BaseModel):
    """One task's evaluation: its metric values (t5's 0-100 scale) and where its predictions are."""

    model_config = ConfigDict(frozen=True)

    task: str
    family: str
    split: str
    num_examples: int
    metrics: dict[str, float]
    metric_names: tuple[str, ...] = Field(default=(), description="the Task.metrics that produced them")
    predictions: str | None = Field(default=None, description="path of eval/<split>/<task>.jsonl, when written")
    settings: dict[str, Any] = Field(default_factory=dict, description="what a rerun must match to reuse this")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def score(self) -> float | None:
        """The mean of the finite metric values (``None`` when there is none)."""
        return mean_of_finite(self.metrics.values())


class EvalResult(BaseModel):
    """A whole evaluation: tasks, family averages, overall average, and tasks left out with why."""

    model_config = ConfigDict(frozen=True)

    split: str
    tasks: dict[str, TaskResult]
    families: dict[str, float]
    overall: float | None
    skipped: dict[str, str] = Field(default_factory=dict, description="task -> why it was not evaluated")
    run_dir: str | None = None
    checkpoint: str | None = None
    step: int | None = None

    @classmethod
    def from_tasks(cls, results: list[TaskResult], *, split: str, **fields: Any) -> EvalResult:
        """Aggregate task results (families and tasks sorted by name)."""
        by_family: dict[str, list[float]] = {}
        for result in results:
            if result.score is not None:
                by_family.setdefault(result.family, []).append(result.score)
        families = {family: statistics.fmean(scores) for family, scores in sorted(by_family.items())}
        overall = mean_of_finite(r.score for r in results)
        return cls(split=split, tasks={r.task: r for r in sorted(results, key=lambda r: r.task)},
                   families=families, overall=overall, **fields)

    def metric(self, name: str) -> float | None:
        """A named figure: ``"overall"``, ``"<family>"`` (its average), ``"<task>"`` (its score),
        ``"<task>:<key>"`` (one metric of one task) or ``"<key>"`` (the mean of that metric over the tasks
        that report it). ``None`` when nothing here has that name."""
        if name == "overall":
            return self.overall
        if name in self.tasks:
            return self.tasks[name].score
        if name in self.families:
            return self.families[name]
        task, _, key = name.rpartition(":")
        if task in self.tasks:
            return self.tasks[task].metrics.get(key)
        return mean_of_finite(r.metrics[name] for r in self.tasks.values() if name in r.metrics)

    def metric_names(self) -> list[str]:
        """Every name :meth:`metric` answers here."""
        keys = sorted({k for r in self.tasks.values() for k in r.metrics})
        per_task = [f"{t}:{k}" for t, r in self.tasks.items() for k in r.metrics]
        return ["overall", *keys, *self.families, *self.tasks, *per_task]

    def to_dict(self) -> dict[str, Any]:
        return json.loads(self.model_dump_json())


def read_task_result(path: str | Path) -> TaskResult | None:
    """A ``<task>.metrics.json`` file, or ``None`` when it is missing, unreadable or of another format."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != SUMMARY_FORMAT:
        return None
    try:
        return TaskResult.model_validate(data["result"])
    except (KeyError, ValueError):
        return None


def task_result_json(result: TaskResult) -> str:
    """The text of a ``<task>.metrics.json`` file."""
    return json.dumps({"format": SUMMARY_FORMAT, "result": json.loads(result.model_dump_json())}, indent=1)


def read_results(run_dir: str | Path) -> dict[str, EvalResult]:
    """Every evaluated split of ``run_dir``: ``{split: EvalResult}`` from ``eval/<split>/**/*.metrics.json``."""
    root = Path(run_dir) / EVAL
    out: dict[str, EvalResult] = {}
    if not root.is_dir():
        return out
    for split_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        found = [r for f in sorted(split_dir.rglob(f"*{EVAL_SUMMARY_SUFFIX}")) if (r := read_task_result(f))]
        if found:
            steps = {r.settings.get("step") for r in found}
            out[split_dir.name] = EvalResult.from_tasks(found, split=split_dir.name, run_dir=str(run_dir),
                                                        step=steps.pop() if len(steps) == 1 else None)
    return out


__all__ = ["SUMMARY_FORMAT", "EvalResult", "TaskResult", "mean_of_finite", "read_results", "read_task_result",
           "task_result_json"]
