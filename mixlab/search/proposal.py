"""A proposed mixture: the mean of the top-k candidates, its predicted loss and spread, as a spec or a Mixture.

Weight columns become mixture components through a registry: a column that is a task name becomes
``{task: name, weight: w}``; a column that is a family (optionally within ``collection``) becomes a
sub-mixture of that family's tasks, examples-proportional inside. Without a registry, columns are
taken as task names. The spec is what ``mixlab rates SPEC`` and :func:`mixlab.resolve_mixture` read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from mixlab.errors import TaskNotFoundError

if TYPE_CHECKING:
    from mixlab.registry import Registry
    from mixlab.samplers import Mixture


@dataclass(frozen=True, kw_only=True)
class Proposal:
    """``weights``: name -> probability of the proposed mixture (the mean of the ``top_k`` best candidates).

    ``predicted``: the model's prediction for ``weights`` (objective ``target``); ``top_k_mean`` and
    ``spread``: mean and standard deviation of the top-k candidates' predictions; ``weight_spread``:
    name -> standard deviation of its weight over the top k; ``best``: the single best candidate's
    prediction.
    """

    weights: dict[str, float]
    target: str
    predicted: float
    top_k_mean: float
    spread: float
    best: float
    weight_spread: dict[str, float]
    num_candidates: int
    top_k: int
    seed: int
    kind: str
    constraints: dict[str, Any] = field(default_factory=dict)

    def summary(self, digits: int = 6) -> dict[str, Any]:
        """Plain data (what ``mixlab search fit --json`` prints under ``proposal``)."""
        return {"weights": {n: round(w, digits) for n, w in self.weights.items()},
                "weight_spread": {n: round(s, digits) for n, s in self.weight_spread.items()},
                "target": self.target, "predicted": round(self.predicted, digits),
                "top_k_mean": round(self.top_k_mean, digits), "spread": round(self.spread, digits),
                "best": round(self.best, digits), "num_candidates": self.num_candidates, "top_k": self.top_k,
                "seed": self.seed, "kind": self.kind, "constraints": self.constraints}

    def spec(self, registry: Registry | None = None, *, name: str = "regmix-proposal",
             collection: str | None = None, digits: int = 6) -> dict[str, Any]:
        """A mixture spec dict (``components`` shape); zero weights are left out."""
        kept = {column: round(w, digits) for column, w in self.weights.items() if round(w, digits) > 0}
        components = _components(kept, registry, collection)
        description = (f"mean of the top {self.top_k} of {self.num_candidates} candidates under a {self.kind} "
                       f"regression of {self.target} (seed {self.seed}); predicted {self.predicted:.6g} "
                       f"+- {self.spread:.3g}")
        return {"name": name, "description": description, "components": components}

    def write_spec(self, path: str | Path, registry: Registry | None = None, *, name: str | None = None,
                   collection: str | None = None) -> Path:
        """Write :meth:`spec` as YAML (``.yaml``/``.yml``) or JSON (``.json``); the name defaults to the stem."""
        path = Path(path)
        spec = self.spec(registry, name=name or path.stem, collection=collection)
        if path.suffix.lower() in (".yaml", ".yml"):
            text = yaml.safe_dump(spec, sort_keys=False)
        elif path.suffix.lower() == ".json":
            text = json.dumps(spec, indent=1) + "\n"
        else:
            raise ValueError(f"spec file {str(path)!r}: write .yaml, .yml or .json")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def mixture(self, registry: Registry, *, name: str = "regmix-proposal", collection: str | None = None) -> Mixture:
        """The proposal as a :class:`mixlab.Mixture` over ``registry``'s tasks (through the one resolver)."""
        from mixlab.samplers import resolve_mixture

        return resolve_mixture(self.spec(registry, name=name, collection=collection), registry=registry)


def _column_tasks(registry: Registry, collection: str | None) -> dict[str, list[str]]:
    """Column name -> task names: each tag's and family's tasks (within ``collection``), each task by name.
    A task name wins over a family of the same name, a family over a tag."""
    chosen = sorted((t for t in registry if collection is None or t.collection.casefold() == collection.casefold()),
                    key=lambda t: t.name)
    by_tag: dict[str, list[str]] = {}
    by_family: dict[str, list[str]] = {}
    for task in chosen:
        by_family.setdefault(task.family, []).append(task.name)
        for tag in task.tags:
            by_tag.setdefault(tag, []).append(task.name)
    return by_tag | by_family | {t.name: [t.name] for t in registry}


def _components(weights: dict[str, float], registry: Registry | None, collection: str | None) -> list[dict[str, Any]]:
    if registry is None:
        return [{"task": column, "weight": weight} for column, weight in weights.items()]
    known = _column_tasks(registry, collection)
    unknown = [column for column in weights if column not in known]
    if unknown:
        where = f" in collection {collection!r}" if collection else ""
        families = sorted({t.family for t in registry if collection is None or t.collection == collection})
        raise TaskNotFoundError(f"weight column(s) {unknown} are neither registered tasks nor families or tags"
                                f"{where}; a spec needs registered names (families{where}: {families})")
    out = []
    for column, weight in weights.items():
        if column in registry:
            out.append({"task": column, "weight": weight})
        else:
            mixture = {"name": f"family:{column}", "tasks": known[column], "strategy": {"kind": "proportional"}}
            out.append({"mixture": mixture, "weight": weight})
    return out


def top_k_mean(candidates: np.ndarray, scores: np.ndarray, top_k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(indices of the top_k lowest scores, best first; their mean weights renormalised)``."""
    top_k = min(top_k, len(scores))
    chosen = np.argpartition(scores, top_k - 1)[:top_k] if top_k < len(scores) else np.arange(len(scores))
    chosen = chosen[np.lexsort((chosen, scores[chosen]))]  # by score, ties by candidate position
    mean = candidates[chosen].mean(axis=0)
    return chosen, mean / mean.sum()
