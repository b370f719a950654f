"""InfluenceMatrix: one type for co-training gains, TAG affinities, mixing-law t_ij and partial dependences, with
bootstrap intervals, through the same scores, groupings, proposals, plots, files and CLI."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest

from mixlab import CallableSource, Task, affinity
from mixlab.affinity import InfluenceMatrix, plot_influence
from mixlab.cli import main
from mixlab.errors import DataError
from mixlab.search import MixtureRegression
from tests.affinity.conftest import TABLE2
from tests.search.conftest import NAMES, T_TRUE, make_sweep


def seeded_tables(num_seeds: int = 4, noise: float = 0.02) -> dict[str, list[dict]]:
    """ExT5 Table 2 re-measured under ``num_seeds`` seeds: every score times (1 + N(0, noise))."""
    with TABLE2.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    rng = np.random.default_rng(0)
    return {f"seed {s}": [dict(r, score=float(r["score"]) * (1 + rng.normal(0, noise))) for r in rows]
            for s in range(num_seeds)}


def mapping_task(output_offset, data_seed, mapping_seed):
    import torch

    table = torch.randperm(6, generator=torch.Generator().manual_seed(mapping_seed)) + output_offset

    def batch(step):
        inputs = torch.randint(3, 9, (8, 5), generator=torch.Generator().manual_seed(data_seed * 1000 + step))
        return {"input_ids": inputs, "labels": table[inputs - 3]}

    return batch


@pytest.fixture(scope="module")
def tag_matrix():
    """TAG affinities of three synthetic tasks (tests/affinity/test_gradient.py's layout) under 2 seeds."""
    batches = {"map-a": mapping_task(3, 1, 7), "map-a-again": mapping_task(3, 2, 7), "map-b": mapping_task(9, 3, 8)}
    return InfluenceMatrix.from_tag([affinity.gradient_affinity(batches, num_steps=2, vocab_size=16, seed=s)
                                     for s in range(2)], num_bootstrap=500, seed=0)


@pytest.fixture(scope="module")
def three_sources():
    """The same question answered three ways: co-training (4 seeds), TAG (2 seeds), a fitted mixing law."""
    cotrain = InfluenceMatrix.from_cotraining(seeded_tables(), num_bootstrap=500, seed=0)
    weights, losses = make_sweep()
    law = MixtureRegression("mixing_law", seed=0).fit(weights, losses).influence(num_bootstrap=40, seed=0)
    return {"cotrain": cotrain, "tag": None, "mixing_law": law}


def test_one_table_gives_the_graph_gains_without_intervals(table2):
    matrix = InfluenceMatrix.from_cotraining(TABLE2)
    names, gains = affinity.gain_matrix(table2)
    assert matrix.sources == matrix.targets == tuple(names) and not matrix.has_intervals
    np.testing.assert_array_equal(matrix.values, gains)
    assert matrix.provenance.kind == "cotrain" and matrix.provenance.baseline == "data-100k"
    compute = InfluenceMatrix.from_cotraining(TABLE2, budget="compute-200k")
    assert compute.value("NLI", "CBQA") == pytest.approx(table2.edges["NLI", "CBQA"]["gain"]["compute-200k"])
    graph = matrix.to_graph()
    # an influence graph's average gain is the mean gain over the baseline (not Table 2's column-mean formula)
    expected = {n: 100 * float(np.nanmean(gains[i])) for i, n in enumerate(names)}
    assert affinity.average_gain(graph) == pytest.approx(expected)
    assert affinity.group_nodes(graph, 2).groups == affinity.group_nodes(table2, 2).groups


def test_bootstrap_over_seeds_by_hand():
    rows = [{"source": n, "target": n, "score": 10, "budget": "alone"} for n in "AB"]
    seeds = [rows + [{"source": "A", "target": "B", "score": score, "budget": "co"},
                     {"source": "B", "target": "A", "score": 9, "budget": "co"}] for score in (11, 12, 13)]
    matrix = InfluenceMatrix.from_cotraining(seeds, num_bootstrap=2000, level=0.9, seed=1)
    assert matrix.value("A", "B") == pytest.approx(0.2) and matrix.value("B", "A") == pytest.approx(-0.1)
    low, high = matrix.interval("A", "B")
    # the mean of 3 resampled gains from {0.1, 0.2, 0.3}: its 5th/95th percentiles are 4/30 and 8/30
    assert (low, high) == (pytest.approx(4 / 30), pytest.approx(8 / 30))
    assert matrix.interval("B", "A") == (pytest.approx(-0.1), pytest.approx(-0.1))  # the same every seed
    assert matrix.provenance.runs == ["seed 0", "seed 1", "seed 2"] and "3 seeds" in matrix.provenance.interval
    again = InfluenceMatrix.from_cotraining(seeds, num_bootstrap=2000, level=0.9, seed=1)
    np.testing.assert_array_equal(again.lower, matrix.lower)


def test_mixing_law_influence_recovers_the_true_signs(three_sources):
    law = three_sources["mixing_law"]
    assert law.sources == NAMES and law.targets == ("cls", "dlg", "nli")  # "loss:cls" -> node "cls"
    np.testing.assert_allclose(law.values, -T_TRUE.T, atol=0.1)
    strong = np.abs(T_TRUE.T) > 0.4
    assert law.significant()[strong].all()  # every strong effect's interval excludes 0
    assert (law.lower <= law.values + 1e-12).all() and (law.values <= law.upper + 1e-12).all()
    assert law.value("cls", "cls") > 1.0 and law.value("sum", "cls") < 0


def test_regression_partial_dependence_agrees_with_the_law():
    weights, losses = make_sweep()
    for kind in ("linear", "lightgbm"):
        matrix = MixtureRegression(kind, seed=0).fit(weights, losses).influence()
        assert matrix.provenance.kind == "regression" and kind in matrix.provenance.metric
        # the most helpful source of each target is the one with the most negative true t
        best = [matrix.sources[int(np.argmax(matrix.values[:, k]))] for k in range(3)]
        assert best == [NAMES[int(np.argmin(T_TRUE[k]))] for k in range(3)], kind


@pytest.mark.parametrize("kind", ["cotrain", "tag", "mixing_law"])
def test_every_source_goes_through_the_same_scores_groups_proposals_and_plots(kind, three_sources, request,
                                                                              tmp_path):
    matrix = three_sources[kind] or request.getfixturevalue("tag_matrix")
    assert matrix.has_intervals and matrix.level == 0.9
    graph = matrix.to_graph()
    assert graph.graph["kind"] == "influence" and graph.graph["influence_kind"] == kind
    edge = next(iter(graph.edges(data=True)))[2]
    assert edge["lower"] <= edge["score"] <= edge["upper"]
    scores = affinity.node_scores(graph)
    assert set(scores) == set(graph.nodes) and all(np.isfinite(s["out_strength"]) for s in scores.values())
    grouping = affinity.group_nodes(graph, 2)
    assert sorted(n for g in grouping.groups for n in g) == sorted(graph.nodes)
    slug = {node: "x/" + re.sub(r"[^a-z0-9]+", "_", node.lower()) for node in graph.nodes}
    tasks = {node: [Task(name=slug[node], family=node, collection="x", num_examples={"train": 100},
                         source=CallableSource(fn=lambda split: []), formatter=lambda row: row)]
             for node in graph.nodes}
    mixture = affinity.propose_mixture(graph, tasks, k=2)
    top = [name for name, _ in affinity.rank_sources(graph)[:2]]
    assert set(mixture.probabilities) == {slug[n] for n in top}
    path = plot_influence(matrix, tmp_path / f"{kind}.png")
    assert path.stat().st_size > 20_000
    assert affinity.plot_transfer(graph, tmp_path / f"{kind}-graph.png").stat().st_size > 20_000


def test_tag_matrix_keeps_the_diagonal_and_the_expected_signs(tag_matrix):
    tag = tag_matrix
    assert tag.provenance.kind == "tag" and tag.provenance.runs == ["seed 0", "seed 1"]
    assert np.isfinite(np.diag(tag.values)).all()  # Z(i -> i), the node's self-affinity
    assert tag.value("map-a", "map-a-again") > 0 > tag.value("map-a", "map-b")


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_files_round_trip_and_mixlab_affinity_reads_them(suffix, three_sources, tmp_path, capsys):
    matrix = three_sources["mixing_law"]
    path = matrix.save(tmp_path / f"law{suffix}")
    loaded = InfluenceMatrix.load(path)
    assert loaded.sources == matrix.sources and loaded.targets == matrix.targets
    np.testing.assert_allclose(loaded.values, matrix.values)
    np.testing.assert_allclose(loaded.lower, matrix.lower)
    assert loaded.provenance == matrix.provenance and loaded.level == matrix.level
    assert main(["affinity", str(path), "--json", "--groups", "2"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["provenance"]["kind"] == "mixing_law" and summary["baseline"] == "mean over sources"
    assert sorted(n for g in summary["groups"] for n in g) == sorted(NAMES)
    figure = tmp_path / "law-plot.png"
    assert main(["affinity", str(path), "--plot", str(figure)]) == 0
    assert figure.stat().st_size > 20_000


def test_cotraining_csv_still_reads_as_a_results_table(capsys):
    assert main(["affinity", str(TABLE2), "--json"]) == 0
    assert "provenance" not in json.loads(capsys.readouterr().out)


def test_errors_name_the_problem(tmp_path):
    tables = seeded_tables(2)
    tables["seed 1"] = [r for r in tables["seed 1"] if "SUM" not in (r["source"], r["target"])]
    with pytest.raises(DataError, match=r"cotrain results 'seed 1' have nodes .* but 'seed 0' has"):
        InfluenceMatrix.from_cotraining(tables)
    with pytest.raises(DataError, match=r"unknown kind 'aioli'; choose one of \['cotrain', 'tag', 'mixing_law'"):
        affinity.Provenance(kind="aioli", metric="m")
    with pytest.raises(DataError, match=r"influence values have shape \(2, 2\), expected \(2, 3\)"):
        InfluenceMatrix(sources=("a", "b"), targets=("a", "b", "c"), values=np.zeros((2, 2)),
                        provenance=affinity.Provenance(kind="tag", metric="Z"))
    matrix = InfluenceMatrix.from_cotraining(TABLE2)
    with pytest.raises(DataError, match=r"unknown target 'XYZ'; choose from \['CBQA'"):
        matrix.value("NLI", "XYZ")
    with pytest.raises(DataError, match=r"write \.json or \.csv"):
        matrix.save(tmp_path / "m.parquet")


def test_influence_heatmap_shares_the_affinity_colour_scale_and_hatches_cells_whose_interval_contains_0():
    from mixlab.affinity.influence import Provenance

    values = np.array([[0.01, -0.02, 0.5], [0.03, np.nan, -0.04]])
    matrix = InfluenceMatrix(sources=("a", "b"), targets=("a", "b", "c"), values=values, lower=values - 0.025,
                             upper=values + 0.025, level=0.9, provenance=Provenance(kind="tag", metric="Z"))
    fig = plot_influence(matrix)
    heat = fig.axes[0]
    image = heat.get_images()[0]
    limit = float(np.percentile([1, 2, 50, 3, 4], 95))  # percent: every |value| < 1
    assert image.get_cmap().name == "RdBu"
    assert (image.norm.vmin, image.norm.vmax) == pytest.approx((-limit, limit))
    hatched = [p for p in heat.patches if p.get_hatch() == "///"]
    assert len(hatched) == 2  # 0.01 and -0.02: their intervals contain 0; the others exclude it
