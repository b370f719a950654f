"""Turn metric records and a mixture manifest into plain numbers: curves, leaves, families.

No plotting here (see ``figures``): these functions are the report's arithmetic, tested alone.

Per-family loss at a step is the mean of that family's per-task losses logged at the step,
weighted by the tasks' target-token counts when the record has them (``task_tokens``; then it
is exactly the family's token-level loss), else by the tasks' mixture rates. Tasks without a
loss at a step (not in that batch) are left out of that step's mean.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: metric keys tried, in order, for each quantity (the first present wins); the first of each is the key
#: mixlab.train writes (mixlab.run_folder.METRIC_KEYS), the others are names other loggers use
LOSS_KEYS = ("loss", "train_loss")
EVAL_LOSS_KEYS = ("eval_loss",)
LR_KEYS = ("lr", "learning_rate")
THROUGHPUT_KEYS = ("tokens_per_s", "tokens_per_sec", "throughput")
TASK_LOSS_KEYS = ("task_loss", "task_losses")
TASK_TOKEN_KEYS = ("task_tokens", "task_token_counts")


@dataclass(frozen=True, kw_only=True)
class Leaf:
    """One task of the mixture as the manifest records it."""

    task: str
    family: str
    rate: float
    num_examples: int | None
    version: str
    plugin: str
    num_capped: float | None = None  # manifests from before mixlab recorded it lack it
    cap: float | None = None  # the task's own cap (None: uncapped), when the manifest records it
    cap_recorded: bool = False


@dataclass(frozen=True, kw_only=True)
class Curve:
    """Values of one quantity against the training step (equal lengths, sorted by step)."""

    steps: list[float]
    values: list[float]

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def last(self) -> float | None:
        return self.values[-1] if self.values else None


def number(value: Any) -> float | None:
    """``value`` as a finite float, else ``None`` (bools, strings, NaN and inf are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _first(record: Mapping[str, Any], keys: Sequence[str]) -> Any:
    return next((record[k] for k in keys if k in record), None)


def scalar_curve(records: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> Curve:
    """The curve of the first of ``keys`` present in each record; non-numbers are skipped."""
    pairs = sorted((r["step"], v) for r in records if (v := number(_first(r, keys))) is not None)
    return Curve(steps=[float(s) for s, _ in pairs], values=[v for _, v in pairs])


def _mapping(record: Mapping[str, Any], keys: Sequence[str]) -> Mapping[str, Any]:
    value = _first(record, keys)
    return value if isinstance(value, Mapping) else {}


def mapping_curves(records: Sequence[Mapping[str, Any]], keys: str | Sequence[str]) -> dict[str, Curve]:
    """Per-task curves of the mapping under the first of ``keys`` in each record, sorted by task name;
    non-numbers are skipped."""
    keys = (keys,) if isinstance(keys, str) else keys
    points: dict[str, list[tuple[float, float]]] = {}
    for record in records:
        for task, value in _mapping(record, keys).items():
            if (v := number(value)) is not None:
                points.setdefault(str(task), []).append((float(record["step"]), v))
    return {task: Curve(steps=[s for s, _ in sorted(p)], values=[v for _, v in sorted(p)])
            for task, p in sorted(points.items())}


def task_curves(records: Sequence[Mapping[str, Any]]) -> dict[str, Curve]:
    """Per-task loss curves from each record's ``task_loss`` mapping, sorted by task name."""
    return mapping_curves(records, TASK_LOSS_KEYS)


def family_curves(records: Sequence[Mapping[str, Any]], leaves: Sequence[Leaf]) -> dict[str, Curve]:
    """Per-family loss curves (weighting in the module docstring); tasks not in ``leaves`` are ignored."""
    family_of = {leaf.task: leaf.family for leaf in leaves}
    rate_of = {leaf.task: leaf.rate for leaf in leaves}
    points: dict[str, list[tuple[float, float]]] = {}
    for record in sorted(records, key=lambda r: r["step"]):
        losses = _mapping(record, TASK_LOSS_KEYS)
        tokens = _mapping(record, TASK_TOKEN_KEYS)
        sums: dict[str, list[float]] = {}
        for task, loss in losses.items():
            value = number(loss)
            if value is None or task not in family_of:
                continue
            weight = number(tokens.get(task)) if tokens else rate_of[task]
            if weight is None or weight <= 0:
                continue
            acc = sums.setdefault(family_of[task], [0.0, 0.0])
            acc[0] += weight * value
            acc[1] += weight
        for family, (total, weight) in sums.items():
            points.setdefault(family, []).append((float(record["step"]), total / weight))
    return {family: Curve(steps=[s for s, _ in p], values=[v for _, v in p]) for family, p in sorted(points.items())}


def leaves_of(manifest: Mapping[str, Any] | None) -> list[Leaf]:
    """The manifest's leaves (``tasks`` list of ``mixlab.mixture/1``, or a ``leaves`` list), sorted by name.

    Entries without a name or a numeric rate are dropped; ``mixture_problems`` reports them.
    """
    leaves = []
    for entry in _leaf_entries(manifest):
        name = entry.get("name", entry.get("task"))
        rate = number(entry.get("rate", entry.get("probability")))
        if not isinstance(name, str) or rate is None:
            continue
        size = number(entry.get("num_examples", entry.get("num_train")))
        leaves.append(Leaf(task=name, family=str(entry.get("family") or "(none)"), rate=rate,
                           num_examples=None if size is None else int(size), version=str(entry.get("version") or ""),
                           plugin=_plugin_label(entry.get("plugin")), num_capped=number(entry.get("num_capped")),
                           cap=number(entry.get("cap")), cap_recorded="cap" in entry))
    return sorted(leaves, key=lambda leaf: leaf.task)


def mixture_problems(manifest: Mapping[str, Any] | None) -> int:
    """How many leaf entries :func:`leaves_of` had to drop."""
    return len(_leaf_entries(manifest)) - len(leaves_of(manifest))


def _leaf_entries(manifest: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    if not manifest:
        return []
    entries = manifest.get("tasks", manifest.get("leaves"))
    return [e for e in entries if isinstance(e, Mapping)] if isinstance(entries, list) else []


def _plugin_label(plugin: Any) -> str:
    if isinstance(plugin, Mapping):
        dist, version = plugin.get("distribution"), plugin.get("version")
        return f"{dist} {version}" if dist and version else str(dist or plugin.get("value") or "")
    return "" if plugin is None else str(plugin)


def family_rates(leaves: Sequence[Leaf]) -> dict[str, tuple[int, float]]:
    """family -> (number of tasks, total rate), sorted by family name."""
    out: dict[str, list[float]] = {}
    for leaf in leaves:
        acc = out.setdefault(leaf.family, [0, 0.0])
        acc[0] += 1
        acc[1] += leaf.rate
    return {family: (int(n), rate) for family, (n, rate) in sorted(out.items())}


def find_cap(spec: Any) -> float | None:
    """The first numeric ``cap`` anywhere in a (nested) mixture spec, else ``None``."""
    if isinstance(spec, Mapping):
        cap = number(spec.get("cap"))
        if cap is not None:
            return cap
        values = list(spec.values())
    elif isinstance(spec, list):
        values = spec
    else:
        return None
    return next((c for c in map(find_cap, values) if c is not None), None)
