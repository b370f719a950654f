"""The transfer figure: a colour-blind-safe diverging map on a robust symmetric scale (the clip stated and the
clipped cells outlined), labelled axes, and a graph of the strongest edges only (the choice in its title)."""

from __future__ import annotations

import inspect

import matplotlib
import numpy as np
import pytest
from matplotlib.patches import FancyArrowPatch, Rectangle

from mixlab import affinity
from mixlab.affinity import plot
from mixlab.errors import DataError
from tests.affinity.conftest import TABLE2


@pytest.fixture(scope="module")
def table2():
    return affinity.transfer_graph(str(TABLE2))


def axes(fig):
    return {ax.get_label(): ax for ax in fig.axes}


def arrows(ax):
    return [p for p in ax.patches if isinstance(p, FancyArrowPatch)]


def test_robust_scale_is_the_95th_percentile_of_the_absolute_gains():
    values = np.array([1.0, -2.0, 3.0, -40.0, np.nan])
    scale = plot.robust_scale(values, percentile=75)
    assert scale.limit == pytest.approx(np.percentile([1, 2, 3, 40], 75)) and scale.limit == pytest.approx(12.25)
    assert (scale.num_clipped, scale.max_abs) == (1, 40.0)
    assert scale.caption == "colours clipped at ±12.2 (75th percentile of |gain|); 1 cell beyond (up to ±40.0) outlined"
    assert plot.robust_scale(np.zeros(3)).limit == 1.0 and plot.robust_scale(np.array([np.nan])).num_clipped == 0
    assert plot.robust_scale(np.array([0.0, 0.0, 0.0, 5.0]), percentile=50).limit == 5.0  # a zero percentile: the max
    with pytest.raises(ValueError, match=r"percentile must be in \(0, 100\], got 0"):
        plot.robust_scale(values, percentile=0)


def test_heatmap_uses_a_diverging_colour_blind_safe_map_on_a_symmetric_robust_scale(table2):
    fig = plot.plot_transfer(table2)
    ax = axes(fig)
    heat = ax["heatmap"]
    image = heat.get_images()[0]
    assert image.get_cmap().name == "RdBu" == plot.CMAP
    _, gains = affinity.gain_matrix(table2, "data-100k")
    finite = np.abs(100 * gains[np.isfinite(gains)])
    limit = float(np.percentile(finite, 95))
    assert limit == pytest.approx(15.245, abs=1e-3)  # one outlier (-46.6) no longer sets the scale
    assert (image.norm.vmin, image.norm.vmax) == pytest.approx((-limit, limit))
    # the three cells beyond the limit (-46.6, -30.1, -15.3, all in column CBQA) are outlined and counted
    outlined = [(round(p.get_x() + 0.46, 6), round(p.get_y() + 0.46, 6)) for p in heat.patches
                if isinstance(p, Rectangle)]
    assert sorted(outlined) == [(0, 5), (0, 6), (0, 7)]  # column CBQA; rows RC, SEM, SUM
    assert "colours clipped at ±15.2 (95th percentile of |gain|); 3 cells beyond (up to ±46.6) outlined" in (
        heat.get_title())
    assert heat.get_xlabel() == "target (the task whose score is measured)"
    assert heat.get_ylabel() == "source (co-trained with the target)"
    assert ax["colorbar"].get_ylabel() == "relative gain (%) at 'data-100k'"
    assert [t.get_text() for t in heat.get_xticklabels()] == sorted(table2.nodes)


def test_graph_shows_the_strongest_edges_and_says_so(table2):
    fig = plot.plot_transfer(table2)
    graph_ax = axes(fig)["graph"]
    assert len(arrows(graph_ax)) == plot.DEFAULT_TOP_K == 12
    assert graph_ax.get_title().startswith("strongest 12 of 56 edges by |gain| (|gain| ≥ 6.8%) at 'data-100k'")
    edges = plot.strongest_edges(table2)
    assert edges[0] == ("SUM", "CBQA", pytest.approx(-46.594, abs=1e-3))
    assert [abs(v) for *_, v in edges] == sorted((abs(v) for *_, v in edges), reverse=True)
    labels = sorted(t.get_text() for t in graph_ax.texts if t.get_text().startswith(("+", "-")))
    assert labels == sorted(f"{v:+.1f}" for *_, v in edges)
    # helping edges are blue, hurting ones red (never green)
    colours = {(round(p.get_facecolor()[0], 2) > round(p.get_facecolor()[2], 2)) for p in arrows(graph_ax)}
    assert colours == {True, False}
    # a threshold instead: every edge at or above it, stated in the title
    fig = plot.plot_transfer(table2, threshold=10)
    graph_ax = axes(fig)["graph"]
    strong = plot.strongest_edges(table2, threshold=10)
    assert len(strong) == len(arrows(graph_ax)) == 6 and all(abs(v) >= 10 for *_, v in strong)
    assert graph_ax.get_title().startswith("6 of 56 edges with |gain| ≥ 10% at 'data-100k'")
    assert len(arrows(axes(plot.plot_transfer(table2, top_k=3, budget="compute-200k"))["graph"])) == 3


def test_edge_choice_is_checked(table2):
    with pytest.raises(DataError, match="top_k must be a positive number of edges, got 0"):
        plot.strongest_edges(table2, top_k=0)
    with pytest.raises(DataError, match=r"threshold must be a finite \|gain\| in percent >= 0, got -1"):
        plot.strongest_edges(table2, threshold=-1)


def test_writes_the_suffix_format_without_touching_pyplot(table2, tmp_path):
    backend = matplotlib.get_backend()
    png = plot.plot_transfer(table2, tmp_path / "sub" / "a.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = plot.plot_transfer(table2, tmp_path / "a.svg")
    assert "<svg" in svg.read_text()[:1000]
    assert matplotlib.get_backend() == backend
    source = inspect.getsource(plot)
    assert "import matplotlib.pyplot" not in source and "from matplotlib import pyplot" not in source
    assert "matplotlib.use" not in source
