"""``task_scaling``: does adding more tasks help? (ExT5 §2.5, Figure 4).

For each ``subset_seed``, the task pool (minus ``exclude``, e.g. the targets) is shuffled by that seed
and the first ``k`` tasks form the subset of size ``k``, so each subset holds the smaller ones (nested,
as in the paper: 30 ⊂ 55 ⊂ 80 tasks). Each subset is mixed examples-proportionally (``cap``),
R-mixed with the self-supervised data, and pre-trained for ``steps`` at each batch size; size 0 is the
self-supervised data alone. Every model is then fine-tuned on ``targets`` (``finetune_steps``; 0 =
scored as pre-trained) and scored on them.

Outputs: ``task_scaling.csv`` (batch size, number of tasks, mean and std over the subset seeds),
``task_scaling_subsets.csv`` (which tasks each subset holds) and ``task_scaling.png`` (mean, shaded std).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field, field_validator

from mixlab.experiments.plots import curve
from mixlab.experiments.protocols.base import (
    Params,
    Protocol,
    Results,
    Summary,
    TaskRef,
    as_mixture,
    mean_std,
    pretrain_and_score,
    proportional,
    resolve_tasks,
    rmix,
    score_columns,
)
from mixlab.experiments.runs import RunSpec


class TaskScalingParams(Params):
    pool: TaskRef = Field(description="tasks to draw subsets from (ExT5: ExMix)")
    exclude: list[str] = Field(default_factory=list, description="names/globs left out of the pool (the targets)")
    sizes: list[int] = Field(min_length=1, description="subset sizes; 0 = self-supervised data alone")
    subset_seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1,
                                    description="one random nested selection per seed (ExT5: three)")
    self_supervised: str | dict[str, Any]
    R: float = Field(default=2.0, gt=0, description="ExT5 used R = 2 here")
    cap: float | None = Field(default=None, gt=0)
    steps: int = Field(gt=0)
    batch_sizes: list[int] | None = Field(default=None, description="default: the train section's batch_size")
    targets: TaskRef
    finetune_steps: int = Field(default=0, ge=0)

    @field_validator("sizes")
    @classmethod
    def _sizes(cls, sizes: list[int]) -> list[int]:
        if any(k < 0 for k in sizes) or len(set(sizes)) != len(sizes):
            raise ValueError(f"sizes must be distinct counts >= 0, got {sizes}")
        return sorted(sizes)


class TaskScaling(Protocol):
    name = "task_scaling"
    title = "Scaling the number of pre-training tasks (ExT5 §2.5, Figure 4)"
    params_model = TaskScalingParams

    def subsets(self, spec: Any, registry: Any) -> dict[int, list[str]]:
        """Per subset seed, the shuffled pool; the subset of size k is its first k tasks."""
        params: TaskScalingParams = self.parse_params(spec.params)
        pool = resolve_tasks(params.pool, registry, "params.pool")
        if params.exclude:
            excluded = set(resolve_tasks(params.exclude, registry, "params.exclude"))
            pool = [t for t in pool if t not in excluded]
        if max(params.sizes) > len(pool):
            raise ValueError(f"params.sizes asks for {max(params.sizes)} tasks but the pool has {len(pool)} "
                             f"after exclusions; fix: use sizes up to {len(pool)}")
        return {seed: [pool[i] for i in np.random.default_rng(seed).permutation(len(pool))]
                for seed in params.subset_seeds}

    def _batch_sizes(self, spec: Any, params: TaskScalingParams) -> list[int]:
        return params.batch_sizes or [int(spec.train.get("batch_size", 128))]

    def expand(self, spec: Any, registry: Any) -> list[RunSpec]:
        params: TaskScalingParams = self.parse_params(spec.params)
        targets = resolve_tasks(params.targets, registry, "params.targets")
        orders = self.subsets(spec, registry)
        runs: list[RunSpec] = []
        for seed in spec.seeds:
            for batch_size in self._batch_sizes(spec, params):
                for subset_seed, order in orders.items():
                    for k in params.sizes:
                        key = f"b{batch_size}/k{k}/subset{subset_seed}/s{seed}"
                        name = f"tasks{k}-subset{subset_seed}"
                        mixture = (as_mixture(params.self_supervised, registry, name) if k == 0 else
                                   rmix(name, params.self_supervised, proportional(f"{name}-sup", order[:k],
                                                                                   params.cap), params.R, registry))
                        labels = {"batch_size": batch_size, "num_tasks": k, "subset_seed": subset_seed, "seed": seed}
                        runs += pretrain_and_score(spec, key, mixture, targets, steps=params.steps, seed=seed,
                                                   finetune_steps=params.finetune_steps, labels=labels,
                                                   batch_size=batch_size)
        return runs

    def summarize(self, spec: Any, results: Results, out: Path) -> Summary:
        from mixlab.registry import load_registry

        params: TaskScalingParams = self.parse_params(spec.params)
        orders = self.subsets(spec, load_registry())
        rows, series = [], {}
        for batch_size in self._batch_sizes(spec, params):
            points = []
            for k in params.sizes:
                scores = [results.score(f"eval/b{batch_size}/k{k}/subset{subset}/s{seed}")
                          for subset in params.subset_seeds for seed in spec.seeds]
                rows.append({"batch_size": batch_size, "num_tasks": k, **score_columns(scores, "num_runs")})
                points.append((float(k), *mean_std(scores)))
            series[f"batch size {batch_size}"] = points
        subsets = [{"subset_seed": seed, "num_tasks": k, "tasks": " ".join(order[:k])}
                   for seed, order in orders.items() for k in params.sizes]
        metric = spec.eval.metric
        curve(out / "task_scaling.png", series, xlabel="number of supervised pre-training tasks",
              ylabel=f"{metric} on targets", title="Task scaling (ExT5 Figure 4)")
        return Summary(title=self.title, tables={"task_scaling": rows, "task_scaling_subsets": subsets},
                       figures={"task_scaling.png": f"mean {metric} over subset selections and seeds; band: ±1 std"},
                       captions={"task_scaling": f"score = mean {metric!r} over the targets; std over "
                                                 f"{len(params.subset_seeds)} random subsets x {len(spec.seeds)} seeds",
                                 "task_scaling_subsets": "each subset is the first k tasks of its seed's shuffle"})


__all__ = ["TaskScaling", "TaskScalingParams"]
