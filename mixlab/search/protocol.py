"""``regmix``: RegMix's sweep as an experiment (Liu et al. 2024) over task groups (families, or any groups).

Runs, per seed (``params.steps`` steps each, from the same start):

1. ``num_mixtures`` proxy runs on mixtures drawn with RegMix's Dirichlet scheme
   (:func:`~mixlab.search.sample_mixtures`, seed ``sample_seed``; the prior is each group's share of
   train examples, RegMix's token-share prior, or uniform), each group examples-proportional inside;
   every proxy is scored on the target tasks (``eval.metric``, e.g. ``eval_loss``);
2. baselines (``proportional``: every task by its size; ``family_uniform``: every group equally,
   ExT5's family-uniform; ``uniform``: every task equally) for ``compare_steps`` (default ``steps``),
   on ``compare_seeds`` (default: the spec's seeds; more seeds give the comparison its spread);
3. with ``proposed: FILE`` (a spec written by an earlier round, e.g. ``proposed_mixture.yaml``), that
   mixture for ``compare_steps``: the runs already done keep their hashes, so a rerun trains only it.

The summary fits :class:`~mixlab.search.MixtureRegression` (``kind``) from group weights to the
target (the mean over target tasks, averaged over seeds), reports its cross-validated Spearman,
proposes a mixture (``candidates``, ``top_k``, ``caps``, ``max_epochs`` of a budget of ``steps x
batch_size`` examples), writes it as ``proposed_mixture.yaml`` (``mixlab rates`` reads it) and
compares it (predicted) with the baselines and the proxies (measured). Tables: ``regmix_runs``,
``regmix_fit``, ``regmix_proposal``, ``regmix_comparison``; figure ``regmix.png``; influence matrix
``regmix_influence.json`` (``mixlab affinity`` reads it).
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from mixlab.errors import ConfigError
from mixlab.experiments.protocols.base import (
    GroupParams,
    Protocol,
    Results,
    Start,
    Summary,
    TaskRef,
    eval_run,
    finetune_config,
    resolve_tasks,
    start_runs,
    train_config,
)
from mixlab.experiments.runs import RunSpec
from mixlab.search.models import min_rows
from mixlab.search.protocol_summary import group_mixture, summarize_regmix
from mixlab.search.sampling import Constraints, sample_mixtures
from mixlab.search.validation import fold_train_size

BASELINES = ("proportional", "family_uniform", "uniform")
Baseline = Literal["proportional", "family_uniform", "uniform"]


class RegMixParams(GroupParams):
    targets: TaskRef | None = Field(default=None, description="tasks scored (default: every task of the groups)")
    num_mixtures: int = Field(default=64, ge=4, description="proxy runs (mixtures) per seed")
    steps: int = Field(gt=0, description="training steps of a proxy run")
    prior: Literal["sizes", "uniform"] = Field(default="sizes", description="Dirichlet prior: example shares, or "
                                                                            "uniform")
    sample_seed: int = Field(default=0, description="seed of the sampled mixtures, the model and the candidates")
    kind: Literal["lightgbm", "linear", "mixing_law"] = "lightgbm"
    folds: int = Field(default=5, ge=2, description="cross-validation folds for the held-out Spearman")
    candidates: int = Field(default=10_000, gt=0)
    top_k: int = Field(default=100, gt=0)
    caps: dict[str, float] = Field(default_factory=dict, description="group -> largest probability")
    max_epochs: float | None = Field(default=None, gt=0, description="most passes over a group's train examples")
    min_weight: float = Field(default=0.0, ge=0, lt=1)
    baselines: list[Baseline] = Field(default_factory=lambda: list[Baseline](["proportional", "family_uniform"]))
    compare_steps: int | None = Field(default=None, gt=0, description="steps of baselines and the proposal")
    compare_seeds: list[int] | None = Field(default=None, min_length=1,
                                            description="seeds of baselines and the proposal (default: seeds)")
    proposed: str | None = Field(default=None, description="a proposed mixture's spec file to train and compare")
    cap: float | None = Field(default=None, gt=0, description="examples-proportional cap inside a group")
    start: Start | None = None

    groups_needed_by: ClassVar[str] = "a mixture search"


class RegMix(Protocol):
    name = "regmix"
    title = "Mixture search by regression over proxy runs (RegMix, Data Mixing Laws)"
    params_model = RegMixParams

    def mixtures(self, spec: Any, registry: Any) -> tuple[dict[str, list[str]], np.ndarray, dict[str, dict]]:
        """The groups, the proxies' group weights ``(num_mixtures, groups)``, and the baselines' weights."""
        params: RegMixParams = self.parse_params(spec.params)
        groups = params.group_tasks(registry)
        names = list(groups)
        need = min_rows(params.kind, len(names))
        trained = fold_train_size(params.num_mixtures, params.folds)
        if trained < need:
            raise ConfigError(f"params.num_mixtures={params.num_mixtures}: {params.folds}-fold cross-validation fits "
                              f"on {trained} runs, but a {params.kind} regression over {len(names)} groups needs "
                              f"{need}; fix: raise num_mixtures or lower folds")
        sizes = _group_sizes(groups, registry)
        constraints = Constraints(sizes=sizes, min_weight=params.min_weight)
        weights = sample_mixtures(names, params.num_mixtures, prior=params.prior, constraints=constraints,
                                  seed=params.sample_seed)
        total = sum(sizes.values())
        counts = {g: len(tasks) for g, tasks in groups.items()}
        baselines = {"proportional": {g: sizes[g] / total for g in names},
                     "family_uniform": {g: 1.0 / len(names) for g in names},
                     "uniform": {g: counts[g] / sum(counts.values()) for g in names}}
        return groups, weights, {b: baselines[b] for b in params.baselines}

    def expand(self, spec: Any, registry: Any) -> list[RunSpec]:
        params: RegMixParams = self.parse_params(spec.params)
        groups, weights, baselines = self.mixtures(spec, registry)
        targets = self._targets(params, groups, registry)
        compare = params.compare_steps or params.steps
        runs: list[RunSpec] = []
        compare_seeds = params.compare_seeds or spec.seeds
        for seed in sorted(set(spec.seeds) | set(compare_seeds)):
            base, parent, start = start_runs(spec, params.start, seed, registry)
            runs += base
            trainings: list[tuple[str, int, Any, dict[str, Any]]] = []
            for i, row in enumerate(weights if seed in spec.seeds else []):
                shares = dict(zip(groups, row.round(8).tolist(), strict=True))
                trainings.append((f"proxy/{i:03d}", params.steps,
                                  group_mixture(f"regmix-{i:03d}", shares, groups, params.cap),
                                  {"role": "proxy", "index": i, "weights": shares}))
            if seed in compare_seeds:
                trainings += [(f"baseline/{b}", compare, group_mixture(f"regmix-{b}", w, groups, params.cap),
                               {"role": "baseline", "name": b, "weights": w}) for b, w in baselines.items()]
            if params.proposed is not None and seed in compare_seeds:
                trainings.append(("proposed", compare, str(Path(spec.base) / params.proposed),
                                  {"role": "proposed", "name": "proposed"}))
            for key, steps, mixture, labels in trainings:
                build = finetune_config if (parent or start) else train_config
                config = build(spec, steps=steps, mixture=mixture, seed=seed, **start)
                runs.append(RunSpec(key=f"{key}/s{seed}", kind="finetune" if parent else "pretrain", config=config,
                                    parent=parent, labels={**labels, "seed": seed}))
                runs.append(eval_run(spec, f"eval/{key}/s{seed}", f"{key}/s{seed}", targets, step=steps,
                                     labels={**labels, "seed": seed}))
        return runs

    @staticmethod
    def _targets(params: RegMixParams, groups: dict[str, list[str]], registry: Any) -> list[str]:
        if params.targets is None:
            return sorted(t for tasks in groups.values() for t in tasks)
        return resolve_tasks(params.targets, registry, "params.targets")

    def summarize(self, spec: Any, results: Results, out: Path) -> Summary:
        from mixlab.registry import load_registry

        params: RegMixParams = self.parse_params(spec.params)
        registry = load_registry()
        groups, weights, baselines = self.mixtures(spec, registry)
        sizes = _group_sizes(groups, registry)
        per_seed = np.array([[results.score(f"eval/proxy/{i:03d}/s{s}") for s in spec.seeds]
                             for i in range(len(weights))])
        spread = per_seed.std(axis=1, ddof=1) if len(spec.seeds) > 1 else np.zeros(len(weights))
        measured = {}
        for name in [*baselines, *(["proposed"] if params.proposed is not None else [])]:
            keys = [f"eval/{'proposed' if name == 'proposed' else f'baseline/{name}'}/s{s}"
                    for s in params.compare_seeds or spec.seeds]
            done = [k for k in keys if results.is_done(k)]
            values = [results.score(k) for k in done]
            measured[name] = (_mean(values), statistics.stdev(values) if len(values) > 1 else 0.0, len(values))
        return summarize_regmix(spec, params, groups, sizes, weights, per_seed.mean(axis=1), spread, baselines,
                                measured, out, title=self.title)


def _group_sizes(groups: dict[str, list[str]], registry: Any) -> dict[str, float]:
    """Train examples per group: the sum over its tasks."""
    return {g: float(sum(registry.get(t).num_train for t in tasks)) for g, tasks in groups.items()}


def _mean(values: list[float]) -> float:
    return math.fsum(values) / len(values) if values else float("nan")


__all__ = ["BASELINES", "RegMix", "RegMixParams"]
