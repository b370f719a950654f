"""Turn a transfer graph into a training ``Mixture`` (ExT5 §2.2 and a graded variant).

Rules, with sources ranked by :func:`~mixlab.affinity.scores.average_gain` (ties by name):

- ``best_effort`` (ExT5): keep the top ``k`` sources, pool all their tasks and mix them
  examples-proportionally with ``cap`` (ExT5 picked NLI, CMNS, CLS, CBQA from Table 2).
- ``graded``: keep the sources with a positive average gain (the top ``k`` of them if ``k``
  is given); each family gets total probability proportional to its gain, and its tasks
  share it examples-proportionally with ``cap``.

Nodes map to tasks through ``families_to_tasks``: a registry (``registry.select(tag=node)``,
as the ExMix plugin tags Table-1 datasets with SUM, DLG, NLI, ...), a mapping node -> tasks
(``Task`` objects or names looked up in ``registry``), or ``None`` when nodes are task names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import networkx as nx

from mixlab.affinity.scores import average_gain
from mixlab.errors import ConfigError, DataError
from mixlab.registry import Registry, Task, load_registry

if TYPE_CHECKING:
    from mixlab.samplers import Mixture

RULES = ("best_effort", "graded")
EXMIX_CAP = 300_000


def rank_sources(graph: nx.DiGraph) -> list[tuple[str, float]]:
    """``(source, average gain %)`` from most to least helpful; ties broken by name."""
    return sorted(average_gain(graph).items(), key=lambda item: (-item[1], item[0]))


def propose_mixture(
    graph: nx.DiGraph,
    families_to_tasks: Registry | Mapping[str, Sequence[Task | str]] | None = None,
    *,
    k: int | None = 4,
    rule: Literal["best_effort", "graded"] = "best_effort",
    cap: float | None = EXMIX_CAP,
    registry: Registry | None = None,
    name: str | None = None,
) -> Mixture:
    """A :class:`mixlab.Mixture` of the most helpful sources of ``graph`` (rules in the module doc)."""
    from mixlab.samplers import Mixture

    if rule not in RULES:
        raise ConfigError(f"unknown rule {rule!r}; choose one of {list(RULES)}")
    ranked = rank_sources(graph)
    if k is not None and not 1 <= k <= len(ranked):
        raise ConfigError(f"k={k} sources requested but {len(ranked)} are ranked; choose 1 <= k <= {len(ranked)}")
    if rule == "graded":
        ranked = [(node, gain) for node, gain in ranked if gain > 0]
        if not ranked:
            raise DataError("no source has a positive average gain, so the graded rule has nothing to weight; "
                            "use rule='best_effort'")
    chosen = ranked[:k] if k is not None else ranked
    name = name or f"affinity-{rule}-{'top' + str(k) if k is not None else 'all'}"
    strategy: dict[str, Any] = {"kind": "proportional", **({"cap": cap} if cap is not None else {})}
    tasks = {node: _tasks_for(node, families_to_tasks, registry) for node, _ in chosen}
    if rule == "best_effort":
        pooled = {t.name: t for node, _ in chosen for t in tasks[node]}
        return Mixture.from_strategy([pooled[n] for n in sorted(pooled)], strategy, name=name)
    parts = [(Mixture.from_strategy(tasks[node], strategy, name=f"{name}/{node}"), gain) for node, gain in chosen]
    return Mixture.of(parts, name=name)


def _tasks_for(node: str, mapping: Registry | Mapping[str, Sequence[Task | str]] | None,
               registry: Registry | None) -> list[Task]:
    if isinstance(mapping, Registry):
        found = mapping.select(tag=node)
        if not found:
            raise DataError(f"no task in the registry is tagged {node!r}; tag the family's tasks with {node!r} "
                            f"or pass families_to_tasks as a mapping {{{node!r}: [task names]}}")
        return found
    if mapping is None:
        return [(registry or load_registry()).get(node)]
    if node not in mapping:
        raise DataError(f"families_to_tasks has no entry for node {node!r}; it has {sorted(mapping)}")
    items = list(mapping[node])
    if not items:
        raise DataError(f"families_to_tasks[{node!r}] is empty; list at least one task")
    lookup = None
    out = []
    for item in items:
        if isinstance(item, Task):
            out.append(item)
        else:
            lookup = lookup or registry or load_registry()
            out.append(lookup.get(item))
    return sorted(out, key=lambda t: t.name)
