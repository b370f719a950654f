"""Partition nodes into groups that help each other most.

Objective (to maximise) for a partition ``P`` of the nodes::

    score(P) = sum_{G in P} w(G) - penalty * |P|
    w(G)     = mean over ordered pairs (a, b), a != b in G, of g(a -> b)     (0 for a singleton)

where ``g`` is the edge's relative gain at the chosen budget and a missing edge counts as 0.
With ``k`` the partition has exactly ``k`` non-empty groups (``penalty`` then only shifts
the score); without ``k`` the number of groups is free and ``penalty`` (>= 0) prices each group.

Search: exact for up to ``exact_limit`` (12) nodes, like TAG / Standley et al.'s exhaustive
search, by dynamic programming over subsets (every partition is the group holding the
lowest remaining node plus a partition of the rest: O(k 3^n)). Above that a heuristic:
greedy agglomerative merging (best score change first), then single-node moves and
pairwise swaps until none improves the score; deterministic, not guaranteed optimal.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from mixlab._checks import is_finite_number
from mixlab.affinity.graph import gain_matrix
from mixlab.errors import ConfigError

EXACT_LIMIT = 12
_TIE = 1e-12  # score differences below this are ties; the first partition found is kept


@dataclass(frozen=True, kw_only=True)
class Grouping:
    """A partition (groups sorted, each sorted), its objective value and whether it is proven optimal."""

    groups: tuple[tuple[str, ...], ...]
    score: float
    exact: bool


def group_nodes(graph: nx.DiGraph, k: int | None = None, *, budget: str | None = None, penalty: float = 0.0,
                exact_limit: int = EXACT_LIMIT) -> Grouping:
    """Best partition of ``graph``'s nodes under the module's objective (exact up to ``exact_limit`` nodes)."""
    names, gains = gain_matrix(graph, budget)
    n = len(names)
    if n == 0:
        raise ConfigError("cannot group an empty graph; it has no nodes")
    if k is not None and not 1 <= k <= n:
        raise ConfigError(f"k={k} groups is impossible for {n} nodes; choose 1 <= k <= {n} or k=None")
    if not is_finite_number(penalty):
        raise ConfigError(f"penalty={penalty} must be a finite number >= 0")
    pair = np.nan_to_num(gains, nan=0.0)
    np.fill_diagonal(pair, 0.0)
    if n <= exact_limit:
        members = _exact(pair, k, penalty)
        exact = True
    else:
        members = _heuristic(pair, k, penalty)
        exact = False
    groups = tuple(sorted(tuple(names[i] for i in sorted(g)) for g in members))
    return Grouping(groups=groups, score=group_score(graph, groups, budget=budget, penalty=penalty), exact=exact)


def group_score(graph: nx.DiGraph, groups, *, budget: str | None = None, penalty: float = 0.0) -> float:
    """The objective of a given partition (a list of lists of node names)."""
    names, gains = gain_matrix(graph, budget)
    index = {name: i for i, name in enumerate(names)}
    pair = np.nan_to_num(gains, nan=0.0)
    np.fill_diagonal(pair, 0.0)
    return float(sum(_weight(pair, [index[x] for x in g]) for g in groups) - penalty * len(groups))


def _weight(pair: np.ndarray, members) -> float:
    size = len(members)
    if size < 2:
        return 0.0
    idx = np.asarray(members)
    return float(pair[np.ix_(idx, idx)].sum() / (size * (size - 1)))


def _subset_weights(pair: np.ndarray) -> np.ndarray:
    """``w`` of every subset, indexed by bit mask (bit i = node i), built one top bit at a time."""
    n = len(pair)
    sym = pair + pair.T
    bits = (np.arange(1 << n)[:, None] >> np.arange(n)) & 1
    sums = np.zeros(1 << n)
    for top in range(n):
        low, high = 1 << top, 1 << (top + 1)
        rest = np.arange(low) if top else np.zeros(1, dtype=int)
        sums[low:high] = sums[rest] + bits[rest] @ sym[top]
    size = bits.sum(axis=1)
    return np.where(size >= 2, sums / np.maximum(size * (size - 1), 1), 0.0)


def _exact(pair: np.ndarray, k: int | None, penalty: float) -> list[list[int]]:
    n = len(pair)
    weight = _subset_weights(pair).tolist()
    memo: dict[tuple[int, int], tuple[float, tuple[int, ...]]] = {}

    def best(mask: int, count: int | None) -> tuple[float, tuple[int, ...]]:
        """Best partition of ``mask`` into ``count`` groups (None: any number); -inf if impossible."""
        if mask == 0:
            return (0.0, ()) if count in (None, 0) else (-np.inf, ())
        if count is not None and not 1 <= count <= mask.bit_count():
            return -np.inf, ()
        key = (mask, -1 if count is None else count)
        if key not in memo:
            low = mask & -mask
            rest = mask ^ low
            found: tuple[float, tuple[int, ...]] = (-np.inf, ())
            sub = rest
            while True:  # every group holding the lowest node, with the best partition of what is left
                group = sub | low
                tail = best(mask ^ group, None if count is None else count - 1)
                value = weight[group] - penalty + tail[0]
                if value > found[0] + _TIE:
                    found = (value, (group, *tail[1]))
                if sub == 0:
                    break
                sub = (sub - 1) & rest
            memo[key] = found
        return memo[key]

    score, masks = best((1 << n) - 1, k)
    assert np.isfinite(score), "no feasible partition"
    return [[i for i in range(n) if m >> i & 1] for m in masks]


def _heuristic(pair: np.ndarray, k: int | None, penalty: float) -> list[list[int]]:
    n = len(pair)
    groups = [[i] for i in range(n)]
    while len(groups) > (k or 1):
        best_delta, best_pair = -np.inf, (0, 1)  # replaced below: every delta is finite (no NaN in pair)
        for a in range(len(groups)):
            for b in range(a + 1, len(groups)):
                delta = (_weight(pair, groups[a] + groups[b]) - _weight(pair, groups[a])
                         - _weight(pair, groups[b]) + penalty)
                if delta > best_delta + _TIE:
                    best_delta, best_pair = delta, (a, b)
        if k is None and best_delta <= _TIE:
            break
        a, b = best_pair
        groups[a] = sorted(groups[a] + groups[b])
        del groups[b]
    return _local_moves(pair, groups, k, penalty)


def _local_moves(pair: np.ndarray, groups: list[list[int]], k: int | None, penalty: float) -> list[list[int]]:
    """Move single nodes between groups, or else swap two, while that raises the score (at most 100 sweeps)."""
    for _ in range(100):
        improved = False
        for node in range(len(pair)):
            home = next(g for g in groups if node in g)
            if len(home) == 1 and k is not None:
                continue  # emptying a group would change the group count
            left = [x for x in home if x != node]
            base = _weight(pair, home)
            best_delta, target = _TIE, None
            for other in groups:
                if other is home:
                    continue
                delta = (_weight(pair, left) + _weight(pair, other + [node]) - base - _weight(pair, other)
                         + (penalty if not left else 0.0))
                if delta > best_delta:
                    best_delta, target = delta, other
            if target is not None:
                target.append(node)
                target.sort()
                home.remove(node)
                if not home:
                    groups.remove(home)
                improved = True
        if not improved and not _best_swap(pair, groups):
            break
    return groups


def _best_swap(pair: np.ndarray, groups: list[list[int]]) -> bool:
    """Swap the two nodes (in different groups) whose exchange raises the score most; False if none does."""
    best_delta, best = _TIE, None
    for a in range(len(groups)):
        for b in range(a + 1, len(groups)):
            ga, gb = groups[a], groups[b]
            before = _weight(pair, ga) + _weight(pair, gb)
            for u in ga:
                for v in gb:
                    after = (_weight(pair, [x for x in ga if x != u] + [v])
                             + _weight(pair, [x for x in gb if x != v] + [u]))
                    if after - before > best_delta:
                        best_delta, best = after - before, (a, b, u, v)
    if best is None:
        return False
    a, b, u, v = best
    groups[a] = sorted([x for x in groups[a] if x != u] + [v])
    groups[b] = sorted([x for x in groups[b] if x != v] + [u])
    return True
