"""Reading results tables into the transfer graph, and every bad-input error."""

from __future__ import annotations

import csv

import networkx as nx
import pytest
from pydantic import BaseModel

from mixlab import DataError
from mixlab.affinity import TransferResult, read_results, transfer_graph, write_graphml

from .conftest import HAND_ROWS, TABLE2


def test_graph_layout_worked_by_hand(hand_graph):
    assert hand_graph.graph == {"kind": "cotraining", "budgets": ["b1", "b2"], "baseline": "b1",
                                "cotrain_budget": "co"}
    assert list(hand_graph.nodes) == ["A", "B", "C"]
    assert hand_graph.nodes["B"]["baseline"] == {"b1": 20.0, "b2": 25.0}
    edge = hand_graph.edges["A", "B"]
    assert edge["score"] == 22.0
    assert edge["gain"] == pytest.approx({"b1": 0.1, "b2": -0.12})
    assert hand_graph.edges["C", "A"]["gain"] == pytest.approx({"b1": -0.1, "b2": -0.55})
    assert hand_graph.number_of_edges() == 6


def test_csv_dicts_and_pydantic_records_give_the_same_graph(hand_rows, tmp_path):
    path = tmp_path / "r.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["source", "target", "score", "budget"])
        writer.writeheader()
        writer.writerows(hand_rows)

    class Record(BaseModel):
        source: str
        target: str
        score: float
        budget: str

    graphs = [transfer_graph(path), transfer_graph(str(path)), transfer_graph(hand_rows),
              transfer_graph([Record(**r) for r in hand_rows]),
              transfer_graph([TransferResult(**r) for r in hand_rows])]
    for g in graphs[1:]:
        assert nx.utils.graphs_equal(g, graphs[0])
        assert sorted(g.edges(data=True)) == sorted(graphs[0].edges(data=True))


def test_input_is_not_mutated(hand_rows):
    transfer_graph(hand_rows)
    assert hand_rows == HAND_ROWS


def test_table2_example_has_every_cell():
    assert len(read_results(TABLE2)) == 72  # 56 co-training cells + 8 families x 2 baselines


def _with(rows, index, **changes):
    rows = [dict(r) for r in rows]
    rows[index].update(changes)
    return rows


@pytest.mark.parametrize("change, match", [
    (lambda rows: _with(rows, 6, score="n/a"), r"row 7 \(source='A', target='B', score='n/a', budget='co'\): "
                                               r"score 'n/a' is not a finite number"),
    (lambda rows: _with(rows, 6, score=float("nan")), r"row 7 .*not a finite number"),
    (lambda rows: _with(rows, 6, score=""), r"row 7 .*missing score"),
    (lambda rows: _with(rows, 0, score=0), r"row 1 .*baseline score 0.0 must be positive"),
    (lambda rows: rows + [dict(rows[7])], r"row 13 \(source='A', target='C', score=36, budget='co'\): duplicate cell "
                                          r"A -> C at 'co', first given at row 8"),
    (lambda rows: [r for r in rows if (r["source"], r["budget"]) != ("B", "b2")],
     r"row 3 \(source='B', target='B'.*\): node 'B' has no baseline at budget 'b2'"),
    (lambda rows: _with(rows, 9, budget="co-100k"), r"row 10 .*unknown co-training budget 'co-100k'"),
    (lambda rows: _with(rows, 6, budget="b1"), r"row 7 .*unknown co-training budget 'b1'; all co-training "
                                               r"rows must share one budget \(5 of 6 use 'co'\)"),
    (lambda rows: [{**r, "budget": "b1"} if r["source"] != r["target"] else r for r in rows],
     r"row 7 .*co-training budget 'b1' is also a baseline budget"),
    (lambda rows: rows + [{"source": "D", "target": "A", "score": 1, "budget": "co"}],
     r"row 13 .*node 'D' has no baseline at budget 'b1'"),
    (lambda rows: [r for r in rows if r["source"] != r["target"]], r"no baseline rows"),
    (lambda rows: [], r"results has no rows"),
    (lambda rows: rows[:1] + ["A,B,1,co"], r"row 2: 'A,B,1,co' is not a mapping"),
])
def test_bad_input_names_the_row(hand_rows, change, match):
    with pytest.raises(DataError, match=match):
        transfer_graph(change(hand_rows))


def test_unknown_baseline_budget_when_budgets_are_given(hand_rows):
    with pytest.raises(DataError, match=r"row 2 \(source='A', target='A', score=20, budget='b2'\): unknown baseline "
                                        r"budget 'b2'; expected one of \['b1'\]"):
        transfer_graph(hand_rows, budgets=["b1"])


def test_bad_csv_files(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        transfer_graph(tmp_path / "nope.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("source,target,value,budget\nA,A,1,b\n")
    with pytest.raises(DataError, match=r"lacks column\(s\) \['score'\]"):
        transfer_graph(bad)
    bad.write_text("source,target,score,budget\nA,A,1,b\nB,B,x,b\n")
    with pytest.raises(DataError, match=r"row 2 \(line 3 of bad.csv\) \(source='B', target='B', score='x', "
                                        r"budget='b'\): score 'x' is not a finite number"):
        transfer_graph(bad)


def test_graphml_round_trip(hand_graph, tmp_path):
    path = tmp_path / "g.graphml"
    write_graphml(hand_graph, str(path))
    back = nx.read_graphml(path)
    assert sorted(back.nodes) == ["A", "B", "C"]
    assert back.nodes["B"]["baseline[b2]"] == 25.0
    assert back.edges["A", "B"]["gain[b2]"] == pytest.approx(-0.12)
    assert back.graph["budgets"] == "b1,b2"
    assert "gain" in hand_graph.edges["A", "B"]  # the caller's graph keeps its dict attributes
