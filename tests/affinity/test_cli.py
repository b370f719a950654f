"""``mixlab affinity``: JSON summary, text table, PNG plot and GraphML output."""

from __future__ import annotations

import json
import struct

import networkx as nx
import numpy as np
import pytest

from mixlab.affinity import InfluenceMatrix, Provenance
from mixlab.affinity.summary import format_summary, summarize
from mixlab.cli import main

from .conftest import TABLE2


def test_json_summary_of_table2(capsys):
    assert main(["affinity", str(TABLE2), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"nodes", "baseline", "average_gain", "negative_transfer", "relations", "groups"}
    assert out["nodes"] == ["CBQA", "CLS", "CMNS", "DLG", "NLI", "RC", "SEM", "SUM"]
    assert out["baseline"] == "data-100k"
    assert out["average_gain"] == {"CBQA": 1.141, "CLS": 1.51, "CMNS": 4.698, "DLG": 0.268, "NLI": 4.309,
                                   "RC": -2.449, "SEM": -2.557, "SUM": -6.92}
    assert out["negative_transfer"] == {"data-100k": 22, "compute-200k": 40}
    assert out["relations"] == 56
    assert out["groups"] == [["CBQA", "CMNS"], ["CLS", "DLG", "NLI", "RC", "SEM", "SUM"]]


def test_baseline_and_group_options(capsys):
    assert main(["affinity", str(TABLE2), "--json", "--baseline", "compute-200k", "--groups", "3"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["baseline"] == "compute-200k"
    assert out["groups"] == [["CBQA"], ["CLS", "CMNS", "DLG", "NLI", "RC"], ["SEM", "SUM"]]


def test_text_table(capsys):
    assert main(["affinity", str(TABLE2)]) == 0
    text = capsys.readouterr().out
    assert "negative transfer at 'data-100k': 22 of 56 relations" in text
    assert "negative transfer at 'compute-200k': 40 of 56 relations" in text
    assert "CMNS       +4.70" in text
    assert "groups: CBQA, CMNS | CLS, DLG, NLI, RC, SEM, SUM" in text


def test_plot_is_a_png_and_graphml_loads(tmp_path, capsys):
    png, graphml = tmp_path / "a.png", tmp_path / "a.graphml"
    assert main(["affinity", str(TABLE2), "--plot", str(png), "--graphml", str(graphml)]) == 0
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1820, 858) and len(data) > 50_000  # 14 x 6.6 inches at 130 dpi
    graph = nx.read_graphml(graphml)
    assert graph.number_of_nodes() == 8 and graph.number_of_edges() == 56
    assert graph.edges["SUM", "CBQA"]["score"] == 7.84


@pytest.mark.parametrize("argv, match", [
    (["--baseline", "data-50k"], r"unknown budget 'data-50k'; this graph has \['data-100k', 'compute-200k'\]"),
    (["--groups", "9"], r"k=9 groups is impossible for 8 nodes"),
])
def test_errors(argv, match, capsys):
    assert main(["affinity", str(TABLE2), *argv]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mixlab affinity: error:")
    import re

    assert re.search(match, err)


def test_bad_file(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("source,target,score,budget\nA,A,1,b\nA,A,2,b\n")
    assert main(["affinity", str(bad)]) == 1
    assert "row 2 (line 3 of bad.csv) (source='A', target='A', score='2', budget='b'): duplicate cell" \
        in capsys.readouterr().err


def test_text_table_says_what_avg_gain_means_for_the_graph_kind(capsys):
    assert main(["affinity", str(TABLE2)]) == 0
    assert "avg gain as in ExT5 Table 2" in capsys.readouterr().out
    matrix = InfluenceMatrix(sources=("a", "b", "c"), targets=("a", "b", "c"), values=np.eye(3) + 0.01,
                             provenance=Provenance(kind="tag", metric="loss"))
    graph = matrix.to_graph()
    text = format_summary(graph, summarize(graph))
    assert text.splitlines()[0] == ("gains are the influence values at 'tag' (strengths, sensitivity); "
                                    "avg gain = 100 x the mean value over the source's targets")
    assert "ExT5" not in text
