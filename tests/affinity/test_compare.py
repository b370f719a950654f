"""Rank correlations against scipy and by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mixlab import DataError
from mixlab.affinity import compare
from mixlab.affinity.compare import kendall_tau_b, spearman


def test_by_hand():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    assert spearman(x, x) == 1.0 and spearman(x, -x) == -1.0
    assert kendall_tau_b(x, np.array([1.0, 3.0, 2.0, 4.0])) == pytest.approx(4 / 6)  # 5 concordant, 1 discordant
    assert np.isnan(spearman(x, np.ones(4)))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(-3, 3), st.integers(-3, 3)), min_size=3, max_size=30))
def test_matches_scipy(pairs):
    stats = pytest.importorskip("scipy.stats")
    x, y = (np.array(v, float) for v in zip(*pairs, strict=True))
    if len(set(x)) < 2 or len(set(y)) < 2:
        return
    assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
    assert kendall_tau_b(x, y) == pytest.approx(stats.kendalltau(x, y).statistic, abs=1e-12)


def test_compare_budgets_and_shared_edges(hand_graph, table2):
    same = compare(hand_graph, hand_graph, budget_b="b2")
    # b1 gains: .1 -.1 .2 .1 -.1 -.1 ; b2 gains: -.12 -.28 -.4 -.12 -.55 -.28 (edges sorted)
    assert same.num_edges == 6
    assert same.spearman == pytest.approx(spearman(np.array([.1, -.1, .2, .1, -.1, -.1]),
                                                   np.array([-.12, -.28, -.4, -.12, -.55, -.28])))
    both = compare(table2, table2, budget_a="data-100k", budget_b="compute-200k")
    # the same scores against different baselines: ranks agree only in part
    assert (both.num_edges, round(both.spearman, 4), round(both.kendall, 4)) == (56, 0.7979, 0.6829)
    with pytest.raises(DataError, match=r"share 0 edge\(s\)"):
        compare(hand_graph, table2)
