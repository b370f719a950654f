"""``sample_efficiency``: fine-tune from early pre-training checkpoints (ExT5 §2.6, Figure 5).

One pre-training run per mixture (ExT5: ExT5's R-mixture vs T5's self-supervised data, with the
targets left out of the supervised side) for ``max(steps)`` steps, keeping a checkpoint at every
step in ``steps``; each checkpoint is fine-tuned on ``targets`` (``finetune_steps``; 0 = scored as it
is) and scored on them.

Outputs: ``sample_efficiency.csv`` (mixture, pre-training step, tokens seen, score mean/std over
seeds) and ``sample_efficiency.png`` (score vs pre-training step, one line per mixture).
"""

from __future__ import annotations

import math
from functools import reduce
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from mixlab.experiments.plots import curve
from mixlab.experiments.protocols.base import (
    Params,
    Protocol,
    Results,
    Summary,
    TaskRef,
    as_mixture,
    downstream,
    mean_std,
    resolve_tasks,
    score_columns,
    train_config,
)
from mixlab.experiments.runs import RunSpec


class SampleEfficiencyParams(Params):
    mixtures: dict[str, str | dict[str, Any]] = Field(
        min_length=1, description="label -> mixture (or task) to pre-train on, e.g. {ExT5: ext5, T5: c4/...}")
    steps: list[int] = Field(min_length=1, description="pre-training steps to fine-tune from")
    targets: TaskRef
    finetune_steps: int = Field(default=0, ge=0)

    @field_validator("steps")
    @classmethod
    def _steps(cls, steps: list[int]) -> list[int]:
        if any(s <= 0 for s in steps) or len(set(steps)) != len(steps):
            raise ValueError(f"steps must be distinct positive step counts, got {steps}")
        return sorted(steps)

    @field_validator("mixtures")
    @classmethod
    def _labels(cls, mixtures: dict[str, Any]) -> dict[str, Any]:
        bad = [label for label in mixtures if not label or "/" in label]
        if bad:
            raise ValueError(f"mixture labels {bad} must be non-empty and without '/'")
        return mixtures


class SampleEfficiency(Protocol):
    name = "sample_efficiency"
    title = "Sample efficiency of pre-training (ExT5 §2.6, Figure 5)"
    params_model = SampleEfficiencyParams

    def expand(self, spec: Any, registry: Any) -> list[RunSpec]:
        params: SampleEfficiencyParams = self.parse_params(spec.params)
        targets = resolve_tasks(params.targets, registry, "params.targets")
        last = params.steps[-1]
        interval = reduce(math.gcd, params.steps)
        keep = {"checkpoint_interval": interval, "keep_checkpoints": last // interval}
        runs: list[RunSpec] = []
        for seed in spec.seeds:
            for label, ref in sorted(params.mixtures.items()):
                key = f"{label}/s{seed}"
                mixture = as_mixture(ref, registry, f"sample-efficiency-{label}")
                runs.append(RunSpec(key=key, kind="pretrain", labels={"mixture": label, "seed": seed},
                                    config=train_config(spec, steps=last, mixture=mixture, seed=seed, **keep)))
                for step in params.steps:
                    runs += downstream(spec, f"{key}/step{step}", key, targets, parent_step=step, seed=seed,
                                       finetune_steps=params.finetune_steps,
                                       labels={"mixture": label, "step": step, "seed": seed})
        return runs

    def summarize(self, spec: Any, results: Results, out: Path) -> Summary:
        params: SampleEfficiencyParams = self.parse_params(spec.params)
        batch_size = int(spec.train.get("batch_size", 128))
        rows, series = [], {}
        for label in sorted(params.mixtures):
            points = []
            for step in params.steps:
                scores = [results.score(f"eval/{label}/s{seed}/step{step}") for seed in spec.seeds]
                rows.append({"mixture": label, "pretrain_steps": step, "pretrain_examples": step * batch_size,
                             **score_columns(scores)})
                points.append((float(step), *mean_std(scores)))
            series[label] = points
        metric = spec.eval.metric
        curve(out / "sample_efficiency.png", series, xlabel="pre-training steps", ylabel=f"{metric} on targets",
              title="Sample efficiency (ExT5 Figure 5)")
        return Summary(title=self.title, tables={"sample_efficiency": rows},
                       figures={"sample_efficiency.png": f"mean {metric} over seeds vs pre-training step"},
                       captions={"sample_efficiency": f"score = mean {metric!r} over the targets after fine-tuning "
                                                      f"from the checkpoint at pretrain_steps"})


__all__ = ["SampleEfficiency", "SampleEfficiencyParams"]
