"""Scores of a transfer graph: negative transfer, average gain per source, per-node strengths.

Notation: ``M[i][j]`` is the score of target j co-trained with source i (edge i -> j),
``B_b[j]`` the baseline of j at budget b, ``g_b(i, j) = (M[i][j] - B_b[j]) / B_b[j]``
the edge's relative gain. Only edges between distinct nodes count; missing edges are
left out of every mean and sum.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from mixlab.affinity.graph import gain_matrix, nodes, resolve_budget, score_matrix


def num_relations(graph: nx.DiGraph) -> int:
    """Number of inter-node relations (edges i -> j, i != j); 56 for ExT5 Table 2."""
    return sum(1 for s, t in graph.edges if s != t)


def negative_transfer(graph: nx.DiGraph) -> dict[str, list[tuple[str, str]]]:
    """Per budget b, the edges with ``g_b(i, j) < 0`` (co-training scores below the target's
    intra-family baseline at b), sorted. Divide the counts by :func:`num_relations` for rates.
    """
    return {b: sorted((s, t) for s, t, d in graph.edges(data=True) if s != t and d["gain"][b] < 0)
            for b in graph.graph["budgets"]}


def average_gain(graph: nx.DiGraph) -> dict[str, float]:
    """Average relative gain (percent) a source gives other targets, as ExT5 Table 2 reports it.

    ``avg(i) = 100 * mean_{j != i} (M[i][j] - A[j]) / A[j]`` with ``A[j] = mean_{k != j} M[k][j]``,
    the column mean over all sources except j itself (Table 2's "AVG\\diag" row); baselines do
    not enter. For a gradient or influence graph (``kind`` ``"gradient"`` or ``"influence"``, see
    :class:`~mixlab.affinity.influence.InfluenceMatrix`) the scores already are gains, so
    ``avg(i) = 100 * mean_{j != i} M[i][j]``. Sources without outgoing edges are left out.

    >>> from mixlab.affinity.graph import transfer_graph
    >>> rows = [{"source": n, "target": n, "score": 10, "budget": "b"} for n in "XYZ"]
    >>> rows += [{"source": s, "target": t, "score": v, "budget": "co"}
    ...          for s, t, v in [("X", "Y", 12), ("Z", "Y", 8), ("Y", "X", 10), ("Z", "X", 10)]]
    >>> average_gain(transfer_graph(rows))
    {'X': 20.0, 'Y': 0.0, 'Z': -10.0}
    """
    names, matrix = score_matrix(graph)
    if graph.graph.get("kind") in ("gradient", "influence"):
        relative = matrix
    else:
        counts = np.isfinite(matrix).sum(axis=0)
        column_mean = np.where(counts > 0, np.nansum(matrix, axis=0) / np.maximum(counts, 1), np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):  # a zero column mean gives no finite gain
            relative = (matrix - column_mean) / column_mean
    out = {}
    for i, name in enumerate(names):
        row = relative[i][np.isfinite(relative[i])]
        if row.size:
            out[name] = float(100.0 * row.mean())
    return out


def in_strength(graph: nx.DiGraph, budget: str | None = None) -> dict[str, float]:
    """Per target j: ``sum_{i != j} g_b(i, j)``, the total gain it receives (0 with no incoming edges)."""
    names, gains = gain_matrix(graph, budget)
    return {n: float(np.nansum(gains[:, k])) for k, n in enumerate(names)}


def out_strength(graph: nx.DiGraph, budget: str | None = None) -> dict[str, float]:
    """Per source i: ``sum_{j != i} g_b(i, j)``, the total gain it gives (0 with no outgoing edges)."""
    names, gains = gain_matrix(graph, budget)
    return {n: float(np.nansum(gains[k, :])) for k, n in enumerate(names)}


def sensitivity(graph: nx.DiGraph, budget: str | None = None) -> dict[str, float]:
    """Per target j: population standard deviation over sources of ``g_b(i, j)``, its sensitivity
    to co-training (ExT5: CBQA is "highly sensitive"). Targets with fewer than 2 incoming edges get 0.
    """
    names, gains = gain_matrix(graph, budget)
    out = {}
    for k, name in enumerate(names):
        column = gains[:, k][np.isfinite(gains[:, k])]
        out[name] = float(column.std()) if column.size >= 2 else 0.0
    return out


def node_scores(graph: nx.DiGraph, budget: str | None = None) -> dict[str, dict[str, float]]:
    """Every per-node score in one table: node -> {average_gain, in_strength, out_strength, sensitivity}."""
    budget = resolve_budget(graph, budget)
    avg, ins, outs, sens = average_gain(graph), in_strength(graph, budget), out_strength(graph, budget), \
        sensitivity(graph, budget)
    return {n: {"average_gain": avg.get(n, float("nan")), "in_strength": ins[n], "out_strength": outs[n],
                "sensitivity": sens[n]} for n in nodes(graph)}
