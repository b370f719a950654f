"""``pretrain_vs_prefinetune``: multi-task pre-training vs pre-finetuning (ExT5 §2.3, Table 4).

Three models from the same initial weights (the seed) and the same pre-training length:

- ``vanilla``: pre-trained on the self-supervised data for ``pretrain_steps``;
- ``pre-finetuning`` (Muppet, Aghajanyan et al. 2021): ``vanilla``, then ``prefinetune_steps`` on the
  supervised mixture with fine-tuning settings (``loss_scaling: muppet`` with ``output_space_sizes``
  in ``prefinetune`` gives Muppet's per-task loss scaling);
- ``multi-task pre-training`` (ExT5): pre-trained on the R-mixture for ``pretrain_steps``.

Each is fine-tuned on ``targets`` (``finetune_steps``; 0 = scored as it is) and scored on them.
Compute is counted in tokens processed before fine-tuning (the paper counts steps of equal batches).

Outputs: ``pretrain_vs_prefinetune.csv`` (method, steps, compute in tokens, score mean/std) and
``pretrain_vs_prefinetune.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from mixlab.experiments.plots import bars
from mixlab.experiments.protocols.base import (
    Params,
    Protocol,
    Results,
    Summary,
    TaskRef,
    as_mixture,
    downstream,
    finetune_config,
    merge,
    resolve_tasks,
    rmix,
    score_columns,
    train_config,
)
from mixlab.experiments.runs import RunSpec

METHODS = ("vanilla", "prefinetune", "multitask")
LABELS = {"vanilla": "Vanilla", "prefinetune": "Pre-finetuning", "multitask": "Multi-task pre-training"}


class PrefinetuneParams(Params):
    self_supervised: str | dict[str, Any]
    supervised: str | dict[str, Any]
    R: float = Field(default=2.0, gt=0, description="the multi-task pre-training mixture's ratio (ExT5: 2)")
    pretrain_steps: int = Field(gt=0)
    prefinetune_steps: int = Field(gt=0, description="ExT5 Table 4: 200k on top of the pre-training")
    prefinetune: dict[str, Any] = Field(default_factory=dict,
                                        description="PretrainConfig overrides for the pre-finetuning run")
    targets: TaskRef
    finetune_steps: int = Field(default=0, ge=0)


class PretrainVsPrefinetune(Protocol):
    name = "pretrain_vs_prefinetune"
    title = "Multi-task pre-training vs pre-finetuning (ExT5 §2.3, Table 4)"
    params_model = PrefinetuneParams

    def expand(self, spec: Any, registry: Any) -> list[RunSpec]:
        params: PrefinetuneParams = self.parse_params(spec.params)
        targets = resolve_tasks(params.targets, registry, "params.targets")
        runs: list[RunSpec] = []
        for seed in spec.seeds:
            vanilla, multitask, prefinetune = (f"{m}/s{seed}" for m in ("vanilla", "multitask", "prefinetune"))
            runs.append(RunSpec(key=vanilla, kind="pretrain", labels={"method": "vanilla", "seed": seed},
                                config=train_config(spec, steps=params.pretrain_steps, seed=seed,
                                                    mixture=as_mixture(params.self_supervised, registry, "vanilla"))))
            mixture = rmix("multitask", params.self_supervised, params.supervised, params.R, registry)
            runs.append(RunSpec(key=multitask, kind="pretrain", labels={"method": "multitask", "seed": seed},
                                config=train_config(spec, steps=params.pretrain_steps, seed=seed, mixture=mixture)))
            config = merge(finetune_config(spec, steps=params.prefinetune_steps, seed=seed,
                                           mixture=as_mixture(params.supervised, registry, "prefinetune")),
                           params.prefinetune)
            runs.append(RunSpec(key=prefinetune, kind="finetune", parent=vanilla, config=config,
                                labels={"method": "prefinetune", "seed": seed}))
            for method, key in (("vanilla", vanilla), ("prefinetune", prefinetune), ("multitask", multitask)):
                runs += downstream(spec, key, key, targets, finetune_steps=params.finetune_steps, seed=seed,
                                   labels={"method": method, "seed": seed})
        return runs

    def summarize(self, spec: Any, results: Results, out: Path) -> Summary:
        params: PrefinetuneParams = self.parse_params(spec.params)
        rows: list[dict[str, Any]] = []
        for method in METHODS:
            scores = [results.score(f"eval/{method}/s{seed}") for seed in spec.seeds]
            tokens = [results.tokens(f"{method}/s{seed}") for seed in spec.seeds]
            steps = params.pretrain_steps
            if method == "prefinetune":
                tokens = [t + results.tokens(f"vanilla/s{seed}") for t, seed in zip(tokens, spec.seeds, strict=True)]
                steps += params.prefinetune_steps
            rows.append({"method": LABELS[method], "steps": steps, "compute_tokens": round(sum(tokens) / len(tokens)),
                         **score_columns(scores)})
        metric = spec.eval.metric
        bars(out / "pretrain_vs_prefinetune.png",
             [(str(r["method"]), float(r["score_mean"]), float(r["score_std"])) for r in rows],
             ylabel=f"{metric} on targets", title="Pre-finetuning vs multi-task pre-training (ExT5 Table 4)")
        return Summary(title=self.title, tables={"pretrain_vs_prefinetune": rows},
                       figures={"pretrain_vs_prefinetune.png": f"mean {metric} over seeds (error bars: std)"},
                       captions={"pretrain_vs_prefinetune": "compute = tokens processed before fine-tuning "
                                                            "(pre-finetuning includes its vanilla pre-training)"})


__all__ = ["PrefinetuneParams", "PretrainVsPrefinetune"]
