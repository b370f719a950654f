"""Grouping: hand-worked optimum, exact search against brute force, heuristic sanity."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mixlab import ConfigError
from mixlab.affinity import group_nodes, group_score


def test_hand_worked_groups(hand_graph):
    # w({A,B}) = (.1 + .2) / 2 = .15, w({A,C}) = -.1, w({B,C}) = 0, w({A,B,C}) = .1 / 6
    assert group_nodes(hand_graph, 2).groups == (("A", "B"), ("C",))
    assert group_nodes(hand_graph, 2).score == pytest.approx(0.15)
    assert group_nodes(hand_graph, 1).score == pytest.approx(0.1 / 6)
    assert group_nodes(hand_graph, 3).groups == (("A",), ("B",), ("C",))
    free = group_nodes(hand_graph)
    assert (free.groups, free.exact) == ((("A", "B"), ("C",)), True)
    # a price per group of .2 makes one group best: .1/6 - .2 > .15 - .4
    assert group_nodes(hand_graph, penalty=0.2).groups == (("A", "B", "C"),)


def test_bad_group_settings(hand_graph):
    with pytest.raises(ConfigError, match=r"k=4 groups is impossible for 3 nodes; choose 1 <= k <= 3"):
        group_nodes(hand_graph, 4)
    with pytest.raises(ConfigError, match="penalty=-1"):
        group_nodes(hand_graph, penalty=-1)


def _random_graph(n: int, seed: int) -> nx.DiGraph:
    rng = np.random.default_rng(seed)
    graph = nx.DiGraph(kind="gradient", budgets=["g"], baseline="g")
    names = [f"t{i:02d}" for i in range(n)]
    graph.add_nodes_from(names, baseline={})
    for a, b in itertools.permutations(names, 2):
        if rng.random() < 0.9:  # some edges missing: they count as 0
            value = float(rng.normal())
            graph.add_edge(a, b, score=value, gain={"g": value})
    return graph


def _partitions(items):
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for smaller in _partitions(rest):
        yield [[first], *smaller]
        for i in range(len(smaller)):
            yield [*smaller[:i], [first, *smaller[i]], *smaller[i + 1:]]


def _brute_force(graph, k, penalty):
    return max(group_score(graph, p, penalty=penalty) for p in _partitions(sorted(graph.nodes))
               if k is None or len(p) == k)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 7), seed=st.integers(0, 10_000), k=st.integers(0, 7), penalty=st.sampled_from([0.0, 0.3]))
def test_exact_search_matches_brute_force(n, seed, k, penalty):
    graph = _random_graph(n, seed)
    k = None if k == 0 or k > n else k
    found = group_nodes(graph, k, penalty=penalty)
    assert found.exact
    assert found.score == pytest.approx(_brute_force(graph, k, penalty), abs=1e-9)
    assert sorted(x for g in found.groups for x in g) == sorted(graph.nodes)
    if k is not None:
        assert len(found.groups) == k


@pytest.mark.parametrize("seed", range(4))
def test_heuristic_is_valid_and_close(seed):
    graph = _random_graph(7, seed)
    for k in (None, 2, 3):
        heuristic = group_nodes(graph, k, exact_limit=0)
        assert not heuristic.exact
        assert sorted(x for g in heuristic.groups for x in g) == sorted(graph.nodes)
        if k is not None:
            assert len(heuristic.groups) == k
        best = group_nodes(graph, k).score
        assert heuristic.score <= best + 1e-12
        assert heuristic.score >= best - 0.5  # no guarantee (optimal in 79 of 90 random 8-node cases)


def test_swaps_escape_where_single_moves_stop():
    """From this split no single move raises the score, but swapping two nodes does (found by search)."""
    from mixlab.affinity.grouping import _local_moves

    pair = np.random.default_rng(0).normal(size=(6, 6))
    np.fill_diagonal(pair, 0)
    assert _local_moves(pair, [[2, 4, 5], [0, 1, 3]], 2, 0.0) == [[3, 5], [0, 1, 2, 4]]


def test_large_graph_uses_the_heuristic_quickly():
    graph = _random_graph(20, 1)
    found = group_nodes(graph, 4)
    assert not found.exact and len(found.groups) == 4


def test_grouping_does_not_mutate_and_is_deterministic(table2):
    before = nx.to_dict_of_dicts(table2)
    first = group_nodes(table2, 3)
    assert group_nodes(table2, 3) == first
    assert nx.to_dict_of_dicts(table2) == before
    assert first.groups == (("CBQA", "CMNS"), ("CLS", "DLG", "NLI", "RC"), ("SEM", "SUM"))
