"""Scores worked by hand on 3 nodes, and ExT5 Table 2's figures pinned (with the paper's own numbers)."""

from __future__ import annotations

import pytest

from mixlab.affinity import (
    average_gain,
    in_strength,
    negative_transfer,
    node_scores,
    num_relations,
    out_strength,
    rank_sources,
    score_matrix,
    sensitivity,
)


def test_negative_transfer_by_hand(hand_graph):
    assert num_relations(hand_graph) == 6
    assert negative_transfer(hand_graph) == {
        "b1": [("A", "C"), ("C", "A"), ("C", "B")],
        "b2": [("A", "B"), ("A", "C"), ("B", "A"), ("B", "C"), ("C", "A"), ("C", "B")],
    }


def test_average_gain_by_hand(hand_graph):
    # column means (other sources): A = (12 + 9) / 2 = 10.5, B = (22 + 18) / 2 = 20, C = (36 + 44) / 2 = 40
    # A: mean(2/20, -4/40) = 0;  B: mean(1.5/10.5, 4/40);  C: mean(-1.5/10.5, -2/20)
    assert average_gain(hand_graph) == pytest.approx({
        "A": 0.0, "B": 100 * (1.5 / 10.5 + 0.1) / 2, "C": -100 * (1.5 / 10.5 + 0.1) / 2})


def test_strengths_and_sensitivity_by_hand(hand_graph):
    # gains at b1: A->B .1, A->C -.1, B->A .2, B->C .1, C->A -.1, C->B -.1
    assert in_strength(hand_graph) == pytest.approx({"A": 0.1, "B": 0.0, "C": 0.0})
    assert out_strength(hand_graph) == pytest.approx({"A": 0.0, "B": 0.3, "C": -0.2})
    assert sensitivity(hand_graph) == pytest.approx({"A": 0.15, "B": 0.1, "C": 0.1})
    # at b2: A<-B -.4, A<-C -.55 -> std .075
    assert sensitivity(hand_graph, "b2")["A"] == pytest.approx(0.075)
    table = node_scores(hand_graph, "b1")
    assert list(table) == ["A", "B", "C"]
    assert table["B"] == pytest.approx({"average_gain": 100 * (1.5 / 10.5 + 0.1) / 2, "in_strength": 0.0,
                                        "out_strength": 0.3, "sensitivity": 0.1})


def test_missing_edges_are_left_out(hand_rows):
    from mixlab.affinity import transfer_graph

    graph = transfer_graph([r for r in hand_rows if (r["source"], r["target"]) != ("C", "A")])
    assert num_relations(graph) == 5
    assert average_gain(graph)["B"] == pytest.approx(100 * (0.0 + 0.1) / 2)  # A's column mean is now 12
    assert sensitivity(graph)["A"] == 0.0  # a single incoming edge has no spread


# ExT5 Table 2 as printed: the "AVG\diag" row and the "Δavg" column.
PAPER_COLUMN_MEAN = {"SUM": 29.28, "DLG": 39.16, "NLI": 63.77, "CLS": 77.17, "SEM": 76.43, "CMNS": 64.31,
                     "CBQA": 12.65, "RC": 65.37}
PAPER_AVG_GAIN = {"SUM": -6.9, "DLG": 0.1, "NLI": 4.3, "CLS": 1.4, "SEM": -2.5, "CMNS": 4.7, "CBQA": 1.2, "RC": -2.4}


def test_table2_negative_transfer(table2):
    assert num_relations(table2) == 56
    counts = {b: len(pairs) for b, pairs in negative_transfer(table2).items()}
    # The paper (§2.1) says 21 and 38 of 56; its printed cells give 22 and 40 (strictly below the baseline;
    # RC -> CLS ties the data-budget baseline at 77.14 and is not counted).
    assert counts == {"data-100k": 22, "compute-200k": 40}
    assert table2.edges["RC", "CLS"]["gain"]["data-100k"] == 0.0


def test_table2_column_means(table2):
    names, scores = score_matrix(table2)
    import numpy as np

    ours = dict(zip(names, np.nanmean(scores, axis=0).round(2), strict=True))
    differs = {n for n in names if ours[n] != PAPER_COLUMN_MEAN[n]}
    # NLI's and SEM's printed means (63.77, 76.43) do not match their printed cells (63.85, 76.58)
    assert differs == {"NLI", "SEM"}
    assert (ours["NLI"], ours["SEM"]) == (63.85, 76.58)


def test_table2_average_gain(table2):
    gains = average_gain(table2)
    assert {n: round(v, 3) for n, v in gains.items()} == {
        "CBQA": 1.141, "CLS": 1.51, "CMNS": 4.698, "DLG": 0.268, "NLI": 4.309, "RC": -2.449, "SEM": -2.557,
        "SUM": -6.92}
    for name, value in PAPER_AVG_GAIN.items():
        assert value == pytest.approx(gains[name], abs=0.2)  # the paper's column is within 0.17 points
    # same ranking as the paper's column, so the same best-effort choice (ExT5 §2.2: NLI, CMNS, CLS, CBQA)
    assert [n for n, _ in rank_sources(table2)] == sorted(PAPER_AVG_GAIN, key=lambda n: -PAPER_AVG_GAIN[n])
    assert {n for n, _ in rank_sources(table2)[:4]} == {"NLI", "CMNS", "CLS", "CBQA"}


def test_table2_cbqa_is_the_most_sensitive(table2):
    for budget in ("data-100k", "compute-200k"):
        values = sensitivity(table2, budget)
        assert max(values, key=values.get) == "CBQA"
