"""Compare two transfer graphs (e.g. co-training results vs. gradient affinities) by rank correlation."""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from mixlab.affinity.graph import resolve_budget
from mixlab.errors import DataError


@dataclass(frozen=True, kw_only=True)
class RankCorrelation:
    """Spearman's rho and Kendall's tau-b of edge gains over ``num_edges`` shared edges (NaN if a side is constant)."""

    spearman: float
    kendall: float
    num_edges: int


def compare(graph_a: nx.DiGraph, graph_b: nx.DiGraph, *, budget_a: str | None = None,
            budget_b: str | None = None) -> RankCorrelation:
    """Rank correlation of the gains of the edges both graphs have (i -> j, i != j), sorted by edge.

    >>> from mixlab.affinity.graph import transfer_graph
    >>> rows = [{"source": n, "target": n, "score": 10, "budget": "b"} for n in "XYZ"]
    >>> a = transfer_graph(rows + [{"source": "X", "target": "Y", "score": v, "budget": "co"} for v in [11]]
    ...                    + [{"source": "Z", "target": "Y", "score": 9, "budget": "co"},
    ...                       {"source": "Y", "target": "X", "score": 12, "budget": "co"}])
    >>> compare(a, a)
    RankCorrelation(spearman=1.0, kendall=1.0, num_edges=3)
    """
    ba, bb = resolve_budget(graph_a, budget_a), resolve_budget(graph_b, budget_b)
    shared = sorted((s, t) for s, t in graph_a.edges if s != t and graph_b.has_edge(s, t))
    if len(shared) < 2:
        raise DataError(f"the graphs share {len(shared)} edge(s); rank correlation needs at least 2 "
                        f"(nodes of a: {sorted(graph_a.nodes)}, of b: {sorted(graph_b.nodes)})")
    x = np.array([graph_a.edges[e]["gain"][ba] for e in shared])
    y = np.array([graph_b.edges[e]["gain"][bb] for e in shared])
    return RankCorrelation(spearman=spearman(x, y), kendall=kendall_tau_b(x, y), num_edges=len(shared))


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing the mean of their positions."""
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    starts = np.r_[True, sorted_values[1:] != sorted_values[:-1]]
    group = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    last = np.r_[first[1:], len(values)] - 1
    ranks = np.empty(len(values))
    ranks[order] = (first[group] + last[group]) / 2.0 + 1.0
    return ranks


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation of average ranks."""
    rx, ry = average_ranks(np.asarray(x, float)), average_ranks(np.asarray(y, float))
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denominator = np.sqrt((rx**2).sum() * (ry**2).sum())
    return float((rx * ry).sum() / denominator) if denominator > 0 else float("nan")


def kendall_tau_b(x: np.ndarray, y: np.ndarray) -> float:
    """``(concordant - discordant) / sqrt((n0 - ties_x) (n0 - ties_y))`` over all pairs."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    upper = np.triu_indices(len(x), k=1)
    dx = np.sign(x[:, None] - x[None, :])[upper]
    dy = np.sign(y[:, None] - y[None, :])[upper]
    denominator = np.sqrt(np.count_nonzero(dx) * np.count_nonzero(dy))
    return float((dx * dy).sum() / denominator) if denominator > 0 else float("nan")
