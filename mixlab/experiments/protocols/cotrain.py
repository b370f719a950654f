"""``cotrain``: transfer between task groups by co-training (ExT5 §2.1, Table 2).

For ``F`` groups (task families, or any task groups): one run per group alone (its tasks mixed
examples-proportionally) and one per pair (the two groups uniformly, each proportionally inside: the
family-uniform mix of ExT5), all for ``steps`` steps, from the same start. Each group is scored on its
own tasks: alone at ``data_steps`` (the equal-data baseline: in a pair a group gets half the examples;
ExT5's 100k of 200k steps) and at ``steps`` (equal compute), and in each pair after ``steps``
(``F + F(F-1)/2`` training runs; the data baseline is the alone run's checkpoint at ``data_steps``,
which is exactly a shorter run, as the learning rate does not depend on the run length).

Outputs: ``cotraining.csv`` (``source,target,score,budget``: what :func:`mixlab.affinity.transfer_graph`
and ``mixlab affinity`` read), ``table2.csv`` (ExT5's layout: row = source, column = target, the
diagonal ``data / compute``, the last column the source's average relative gain), ``cotraining.png``
(transfer graph and gain heatmap) and ``proposed_mixture.json`` (``propose_mixture``'s pick).
"""

from __future__ import annotations

import csv
import itertools
import json
import math
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, model_validator

from mixlab.experiments.protocols.base import (
    GroupParams,
    Protocol,
    Results,
    Start,
    Summary,
    eval_run,
    finetune_config,
    proportional,
    start_runs,
    train_config,
)
from mixlab.experiments.runs import RunSpec


class CotrainParams(GroupParams):
    steps: int = Field(gt=1, description="co-training steps (the compute budget)")
    data_steps: int | None = Field(default=None, gt=0, description="the equal-data baseline (default: steps // 2)")
    cap: float | None = Field(default=None, gt=0, description="examples-proportional cap inside a group")
    start: Start | None = None
    propose_k: int | None = Field(default=None, gt=0, description="groups in the proposed mixture (default: half)")
    groups_needed_by: ClassVar[str] = "co-training"

    @model_validator(mode="after")
    def _budget(self) -> CotrainParams:
        if self.budget_steps >= self.steps:
            raise ValueError(f"data_steps {self.budget_steps} must be below steps {self.steps}")
        return self

    @property
    def budget_steps(self) -> int:
        return self.data_steps or self.steps // 2


class Cotrain(Protocol):
    name = "cotrain"
    title = "Co-training transfer between task groups (ExT5 §2.1, Table 2)"
    params_model = CotrainParams

    @classmethod
    def check_spec(cls, spec: Any) -> None:
        if not spec.eval.higher_is_better:
            raise ValueError(f"cotrain writes a transfer table of relative gains and needs a higher-is-better score; "
                             f"eval.metric {spec.eval.metric!r} is lower-is-better; fix: use eval_accuracy or a "
                             f"task metric")

    def expand(self, spec: Any, registry: Any) -> list[RunSpec]:
        params: CotrainParams = self.parse_params(spec.params)
        groups = params.group_tasks(registry)
        runs: list[RunSpec] = []
        for seed in spec.seeds:
            base, parent, start = start_runs(spec, params.start, seed, registry)
            runs += base
            mixtures = {name: proportional(f"cotrain-{name}", tasks, params.cap) for name, tasks in groups.items()}
            trainings: list[tuple[tuple[str, ...], dict[str, Any]]] = [((name,), mixtures[name]) for name in groups]
            trainings += [((a, b), {"name": f"cotrain-{a}+{b}", "components": [
                {"mixture": mixtures[a], "weight": 1.0}, {"mixture": mixtures[b], "weight": 1.0}]})
                for a, b in itertools.combinations(groups, 2)]
            for names, mixture in trainings:
                key = f"{'alone' if len(names) == 1 else 'pair'}/{'+'.join(names)}/s{seed}"
                runs.append(self._training(spec, params, key, mixture, seed, parent, start, names))
                tasks = [t for name in names for t in groups[name]]
                runs.append(eval_run(spec, f"eval/{key}", key, tasks, step=params.steps,
                                     labels={"groups": list(names), "seed": seed, "budget": "compute"}))
                if len(names) == 1:
                    runs.append(eval_run(spec, f"eval/{key}/data", key, tasks, step=params.budget_steps,
                                         labels={"groups": list(names), "seed": seed, "budget": "data"}))
        return runs

    @staticmethod
    def _training(spec: Any, params: CotrainParams, key: str, mixture: dict[str, Any], seed: int,
                  parent: str | None, start: dict[str, Any], names: tuple[str, ...]) -> RunSpec:
        interval = math.gcd(params.steps, params.budget_steps)
        keep = {"checkpoint_interval": interval, "keep_checkpoints": params.steps // interval}
        build = finetune_config if (parent or start) else train_config
        config = build(spec, steps=params.steps, mixture=mixture, seed=seed, **start, **keep)
        return RunSpec(key=key, kind="finetune" if (parent or start) else "pretrain", config=config, parent=parent,
                       labels={"groups": list(names), "seed": seed})

    def summarize(self, spec: Any, results: Results, out: Path) -> Summary:
        from mixlab import affinity

        params: CotrainParams = self.parse_params(spec.params)
        names = sorted(params.group_refs())
        group_tasks = {name: list((results.plan.specs[f"eval/alone/{name}/s{spec.seeds[0]}"].eval or {})["tasks"])
                       for name in names}
        budgets = {"data": f"data-{params.budget_steps}", "compute": f"compute-{params.steps}",
                   "cotrain": f"cotrain-{params.steps}"}

        def mean(keys: list[str], target: str) -> float:
            return math.fsum(results.score(k, group_tasks[target]) for k in keys) / len(keys)

        rows: list[dict[str, Any]] = []
        for name in names:
            rows.append({"source": name, "target": name, "budget": budgets["data"],
                         "score": mean([f"eval/alone/{name}/s{s}/data" for s in spec.seeds], name)})
            rows.append({"source": name, "target": name, "budget": budgets["compute"],
                         "score": mean([f"eval/alone/{name}/s{s}" for s in spec.seeds], name)})
        for a, b in itertools.combinations(names, 2):
            keys = [f"eval/pair/{a}+{b}/s{s}" for s in spec.seeds]
            rows.append({"source": a, "target": b, "budget": budgets["cotrain"], "score": mean(keys, b)})
            rows.append({"source": b, "target": a, "budget": budgets["cotrain"], "score": mean(keys, a)})
        rows = [{"source": r["source"], "target": r["target"], "score": round(r["score"], 6), "budget": r["budget"]}
                for r in rows]  # the column order of mixlab.affinity's results tables
        csv_path = out / "cotraining.csv"
        _write_csv(csv_path, rows, ["source", "target", "score", "budget"])
        caption = (f"score = mean {spec.eval.metric!r} over the target group's tasks; "
                   f"`mixlab affinity {csv_path.name}` reads this file")
        zero = [f"{r['source']} at {r['budget']}" for r in rows if r["source"] == r["target"] and r["score"] <= 0]
        if zero:  # relative gains need a positive baseline: keep the table, say why there is no graph
            return Summary(title=self.title, tables={"cotraining": rows}, captions={"cotraining": caption},
                           notes=[f"no transfer graph: the baseline of {', '.join(zero)} scores 0 (the model does "
                                  f"not score on those tasks yet); fix: train longer (params.steps), or score with "
                                  f"a metric the model already moves (eval.scorer: teacher_forced)"])
        graph = affinity.transfer_graph(csv_path)
        affinity.plot_transfer(graph, out / "cotraining.png", budget=budgets["data"])
        gains = affinity.average_gain(graph)
        table2 = _table2(rows, names, budgets, gains)
        negatives = affinity.negative_transfer(graph)
        relations = affinity.num_relations(graph)
        notes = [f"{len(pairs)} of {relations} inter-group relations are worse than the target alone at {budget!r}"
                 for budget, pairs in negatives.items()]
        proposal_rows = self._propose(graph, group_tasks, params, results, out, notes)
        return Summary(
            title=self.title,
            tables={"cotraining": rows, "table2": table2, "proposed_mixture": proposal_rows},
            figures={"cotraining.png": f"transfer graph and gains over the target alone at {budgets['data']!r}"},
            notes=notes,
            captions={"cotraining": caption,
                      "table2": "ExT5 Table 2 layout: row = source, column = target; the diagonal is "
                                "'data-budget / compute-budget'; avg_gain_% = the source's mean relative gain",
                      "proposed_mixture": "propose_mixture (best-effort rule) over the most helpful groups"})

    @staticmethod
    def _propose(graph: Any, group_tasks: dict[str, list[str]], params: CotrainParams, results: Results,
                 out: Path, notes: list[str]) -> list[dict[str, Any]]:
        from mixlab import affinity
        from mixlab.registry import load_registry

        k = params.propose_k or max(1, len(group_tasks) // 2)
        registry = load_registry()
        proposal = affinity.propose_mixture(graph, group_tasks, k=min(k, len(group_tasks)), registry=registry,
                                            cap=params.cap, name="cotrain-proposal")
        (out / "proposed_mixture.json").write_text(json.dumps(proposal.manifest(), indent=1, sort_keys=True))
        ranked = ", ".join(f"{node} {gain:+.1f}%" for node, gain in affinity.rank_sources(graph))
        notes.append(f"sources ranked by average gain: {ranked}; proposed mixture: {len(proposal)} tasks from "
                     f"the top {k} (proposed_mixture.json)")
        return [{"task": task, "family": proposal.tasks[task].family, "probability": round(p, 6)}
                for task, p in sorted(proposal.probabilities.items())]


def _table2(rows: list[dict[str, Any]], names: list[str], budgets: dict[str, str],
            gains: dict[str, float]) -> list[dict[str, Any]]:
    cell = {(r["source"], r["target"], r["budget"]): r["score"] for r in rows}
    table = []
    for source in names:
        line: dict[str, Any] = {"source": source}
        for target in names:
            if source == target:
                line[target] = (f"{cell[(source, target, budgets['data'])]:.4g} / "
                                f"{cell[(source, target, budgets['compute'])]:.4g}")
            else:
                line[target] = f"{cell[(source, target, budgets['cotrain'])]:.4g}"
        line["avg_gain_%"] = round(gains.get(source, float("nan")), 2)
        table.append(line)
    return table


def _write_csv(path: Path, rows: list[dict[str, Any]], columns: list[str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


__all__ = ["Cotrain", "CotrainParams"]
