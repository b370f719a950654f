"""``r_sweep``: how much supervised data to mix in (ExT5 §2.4, Figure 3).

One pre-training run per ``R`` (self-supervised examples per supervised example; ``R = 0`` is the
supervised mixture alone) and, with ``no_supervised``, one on the self-supervised data alone (the
paper's dashed "no ExMix" line, R -> infinity), all for ``steps`` steps from scratch, each then
fine-tuned on ``targets`` for ``finetune_steps`` (0: scored as pre-trained) and scored on them.

Outputs: ``r_sweep.csv`` (``R``, mean and std over seeds, n; the no-supervised row has ``R = inf``) and
``r_sweep.png`` (score vs R on an evenly spaced axis, the no-supervised line dashed).
"""

from __future__ import annotations

import math
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
    pretrain_and_score,
    resolve_tasks,
    rmix,
    score_columns,
)
from mixlab.experiments.runs import RunSpec


class RSweepParams(Params):
    self_supervised: str | dict[str, Any] = Field(description="task or mixture (ExT5: c4/span_corruption)")
    supervised: str | dict[str, Any] = Field(description="mixture (ExT5: exmix)")
    R: list[float] = Field(min_length=1, description="ratios to sweep; 0 = supervised data alone")
    no_supervised: bool = Field(default=True, description="also pre-train on the self-supervised data alone")
    steps: int = Field(gt=0, description="pre-training steps of every run")
    targets: TaskRef = Field(description="tasks to fine-tune on and score (ExT5: SuperGLUE)")
    finetune_steps: int = Field(default=0, ge=0, description="0: score the pre-trained checkpoints directly")

    @field_validator("R")
    @classmethod
    def _ratios(cls, ratios: list[float]) -> list[float]:
        bad = [r for r in ratios if not (math.isfinite(r) and r >= 0)]
        if bad or len(set(ratios)) != len(ratios):
            raise ValueError(f"R must list distinct finite numbers >= 0, got {ratios}")
        return sorted(ratios)


def _label(R: float) -> str:
    return "inf" if math.isinf(R) else f"{R:g}"


class RSweep(Protocol):
    name = "r_sweep"
    title = "How much supervised data to mix in (ExT5 §2.4, Figure 3)"
    params_model = RSweepParams

    def expand(self, spec: Any, registry: Any) -> list[RunSpec]:
        params: RSweepParams = self.parse_params(spec.params)
        targets = resolve_tasks(params.targets, registry, "params.targets")
        ratios = [*params.R, *([math.inf] if params.no_supervised else [])]
        runs: list[RunSpec] = []
        for seed in spec.seeds:
            for R in ratios:
                key = f"R={_label(R)}/s{seed}"
                name = f"r-sweep-R{_label(R)}"
                mixture = (as_mixture(params.self_supervised, registry, name) if math.isinf(R)
                           else rmix(name, params.self_supervised, params.supervised, R, registry))
                runs += pretrain_and_score(spec, key, mixture, targets, steps=params.steps, seed=seed,
                                           finetune_steps=params.finetune_steps, labels={"R": _label(R), "seed": seed})
        return runs

    def summarize(self, spec: Any, results: Results, out: Path) -> Summary:
        params: RSweepParams = self.parse_params(spec.params)
        ratios = [*params.R, *([math.inf] if params.no_supervised else [])]
        rows: list[dict[str, Any]] = []
        for R in ratios:
            scores = [results.score(f"eval/R={_label(R)}/s{seed}") for seed in spec.seeds]
            rows.append({"R": _label(R), "p_self_supervised": round(R / (R + 1), 4) if math.isfinite(R) else 1.0,
                         **score_columns(scores)})
        points = {r["R"]: (float(r["score_mean"]), float(r["score_std"])) for r in rows}
        finite = [(float(R), *points[R]) for R in points if R != "inf"]
        reference = (*points["inf"], "no supervised data (R → ∞)") if "inf" in points else None
        metric = spec.eval.metric
        curve(out / "r_sweep.png", {"self-supervised + supervised": finite}, xlabel="R (self-supervised : supervised)",
              ylabel=f"{metric} on targets", title="Score vs R (ExT5 Figure 3)", reference=reference,
              categorical=True)
        best = (max if spec.eval.higher_is_better else min)(points, key=lambda R: points[R][0])
        return Summary(title=self.title, tables={"r_sweep": rows},
                       figures={"r_sweep.png": f"mean {metric} over seeds vs R; dashed: no supervised data"},
                       notes=[f"best R: {best} ({metric} {points[best][0]:.4g})"],
                       captions={"r_sweep": f"score = mean {metric!r} over the target tasks, then over seeds"})


__all__ = ["RSweep", "RSweepParams"]
