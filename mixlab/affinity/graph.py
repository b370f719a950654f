"""The transfer graph: a ``networkx.DiGraph`` built from a results table, and matrix views of it.

Layout (shared by co-training results and gradient affinities):

- ``graph.graph``: ``kind`` ("cotraining" or "gradient"), ``budgets`` (the budgets gains are
  measured at, in input order), ``baseline`` (the default one: the first), and for
  co-training ``cotrain_budget``.
- node ``n``: ``baseline`` = {budget: intra-family score} (empty for gradient graphs).
- edge ``s -> t``: ``score`` (target's score when co-trained with the source) and
  ``gain`` = {budget: (score - baseline_t[budget]) / baseline_t[budget]} (a fraction).
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np

from mixlab.affinity.results import Results, read_results
from mixlab.errors import DataError


def transfer_graph(results: Results, *, budgets: list[str] | None = None) -> nx.DiGraph:
    """Build the transfer graph of a results table (see :func:`read_results` for its checks).

    >>> g = transfer_graph([
    ...     {"source": "A", "target": "A", "score": 50, "budget": "base"},
    ...     {"source": "B", "target": "B", "score": 40, "budget": "base"},
    ...     {"source": "A", "target": "B", "score": 44, "budget": "co"},
    ...     {"source": "B", "target": "A", "score": 45, "budget": "co"}])
    >>> round(g.edges["A", "B"]["gain"]["base"], 3), round(g.edges["B", "A"]["gain"]["base"], 3)
    (0.1, -0.1)
    """
    rows = read_results(results, budgets=budgets)
    baselines = [r for r in rows if r.is_baseline]
    cotrain = [r for r in rows if not r.is_baseline]
    order = list(budgets) if budgets is not None else list(dict.fromkeys(r.budget for r in baselines))
    graph: nx.DiGraph = nx.DiGraph(kind="cotraining", budgets=order, baseline=order[0],
                       cotrain_budget=cotrain[0].budget if cotrain else None)
    base: dict[str, dict[str, float]] = {}
    for row in baselines:
        base.setdefault(row.source, {})[row.budget] = row.score
    for node in sorted(base):
        graph.add_node(node, baseline={b: base[node][b] for b in order})
    for row in sorted(cotrain, key=lambda r: (r.source, r.target)):
        ref = base[row.target]
        gain = {b: (row.score - ref[b]) / ref[b] for b in order}
        graph.add_edge(row.source, row.target, score=row.score, gain=gain)
    return graph


def resolve_budget(graph: nx.DiGraph, budget: str | None) -> str:
    """``budget`` if the graph has it, else the graph's default; unknown names raise with the choices."""
    budgets = graph.graph.get("budgets") or []
    if budget is None:
        if not budgets:
            raise DataError("graph has no budgets; build it with transfer_graph() or gradient_affinity()")
        return graph.graph.get("baseline", budgets[0])
    if budget not in budgets:
        raise DataError(f"unknown budget {budget!r}; this graph has {budgets}")
    return budget


def nodes(graph: nx.DiGraph) -> list[str]:
    """Nodes, sorted (every function in this package iterates in this order)."""
    return sorted(graph.nodes)


def score_matrix(graph: nx.DiGraph) -> tuple[list[str], np.ndarray]:
    """``M[i, j]`` = score of node j co-trained with node i; NaN on the diagonal and where no edge."""
    names = nodes(graph)
    index = {n: i for i, n in enumerate(names)}
    matrix = np.full((len(names), len(names)), np.nan)
    for s, t, data in graph.edges(data=True):
        if s != t:
            matrix[index[s], index[t]] = data["score"]
    return names, matrix


def gain_matrix(graph: nx.DiGraph, budget: str | None = None) -> tuple[list[str], np.ndarray]:
    """``G[i, j]`` = relative gain of edge i -> j at ``budget``; NaN on the diagonal and where no edge."""
    budget = resolve_budget(graph, budget)
    names = nodes(graph)
    index = {n: i for i, n in enumerate(names)}
    matrix = np.full((len(names), len(names)), np.nan)
    for s, t, data in graph.edges(data=True):
        if s != t:
            matrix[index[s], index[t]] = data["gain"][budget]
    return names, matrix


def flat_copy(graph: nx.DiGraph) -> nx.DiGraph:
    """A copy with scalar attributes only (``gain[budget]``, ``baseline[budget]``), as GraphML needs."""
    flat: nx.DiGraph = nx.DiGraph()
    for key, value in graph.graph.items():
        if value is not None:
            flat.graph[key] = ",".join(value) if isinstance(value, list) else value
    for node in nodes(graph):
        data = graph.nodes[node]
        flat.add_node(node, **{f"baseline[{b}]": v for b, v in data.get("baseline", {}).items()},
                      **{k: v for k, v in data.items() if k != "baseline"})
    for s, t in sorted(graph.edges):
        data = graph.edges[s, t]
        flat.add_edge(s, t, score=data["score"], **{f"gain[{b}]": v for b, v in data["gain"].items()})
    return flat


def write_graphml(graph: nx.DiGraph, path: str) -> None:
    """Write ``graph`` as GraphML (attributes flattened by :func:`flat_copy`); parent folders are created."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    nx.write_graphml(flat_copy(graph), path)
