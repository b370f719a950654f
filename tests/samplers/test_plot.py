"""The rates plot: its own Figure (no pyplot, backend untouched), tasks grouped and coloured by family, the
self-supervised share apart, the cap only over the bars it applies to, manifests, the report."""

from __future__ import annotations

import inspect
import itertools
import json

import matplotlib
import pytest

from mixlab import Mixture
from mixlab.report import curves as cv
from mixlab.report import sections
from mixlab.run_folder import load as load_run
from mixlab.samplers import plot
from mixlab.samplers import strategies as S
from tests.samplers.helpers import make_task

TASKS = [make_task("ex/a", 100, "X"), make_task("ex/b", 400, "X"), make_task("ex/c", 1000, "Y"),
         make_task("ex/d", 3000, "Y")]


def mix():
    return Mixture.from_strategy(TASKS, S.Proportional(cap=500), name="small")


def panel(fig, name):
    found = [ax for ax in fig.axes if ax.get_label() == name]
    return found[0] if found else None


def cap_segments(fig):
    """(value, x from, x to) of each drawn cap segment in the sizes panel."""
    ax = panel(fig, "sizes")
    return [(seg[0][1], seg[0][0], seg[1][0]) for c in ax.collections if c.get_label() == "cap"
            for seg in c.get_segments()]


def bar_heights(ax):
    return [p.get_height() for p in ax.patches]


def strip_texts(fig):
    return [t.get_text() for t in panel(fig, "families").texts]


def test_grouped_by_family_on_its_own_figure_with_the_cap_at_the_cap_value(tmp_path):
    from matplotlib.figure import Figure

    backend = matplotlib.get_backend()
    fig = plot.plot_rates(mix().table(), cap=500, title="t")
    assert isinstance(fig, Figure) and matplotlib.get_backend() == backend
    assert [ax.get_label() for ax in fig.axes] == ["families", "rates", "sizes", "share"]
    # family Y (rate 1000/1500) before X (500/1500); largest task first within a family
    assert strip_texts(fig) == ["Y", "X"]
    assert [t.get_text() for t in panel(fig, "rates").get_xticklabels()] == ["d", "c", "b", "a"]
    assert bar_heights(panel(fig, "sizes")) == [3000, 1000, 400, 100, 500, 500, 400, 100]  # sizes, then counted
    assert bar_heights(panel(fig, "rates")) == pytest.approx([100 / 3, 100 / 3, 100 * 400 / 1500, 100 * 100 / 1500])
    assert cap_segments(fig) == [(500, -0.5, 3.5)]
    # both families in the share bar, no self-supervised part
    assert bar_heights(panel(fig, "share")) == pytest.approx([100 * 1000 / 1500, 100 * 500 / 1500])
    assert panel(fig, "share").get_title() == "share per family"
    # the colours: family Y gets the palette's first colour, X its second; counted bars are opaque
    sizes = panel(fig, "sizes").patches
    assert [matplotlib.colors.to_hex(p.get_facecolor()) for p in sizes[4:]] == [
        plot.FAMILY_PALETTE[0].lower()] * 2 + [plot.FAMILY_PALETTE[1].lower()] * 2
    assert sizes[0].get_alpha() == plot.ABOVE_CAP_ALPHA and sizes[4].get_alpha() is None
    # a cap above every task: the line is still drawn at the cap; no cap, no line
    assert cap_segments(plot.plot_rates(mix().table(), cap=5000)) == [(5000, -0.5, 3.5)]
    assert cap_segments(plot.plot_rates(mix().table())) == []
    path = plot.plot_rates(mix(), tmp_path / "sub" / "rates.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def ext5_like_rows():
    """A C4-like self-supervised task at 2/3 and 6 supervised tasks in 3 families, one of them uncapped."""
    sup = [("ex/n1", "NLI", 900_000, 300_000.0, 300_000), ("ex/n2", "NLI", 50_000, 50_000.0, 300_000),
           ("ex/s1", "SUM", 200_000, 200_000.0, 300_000), ("ex/s2", "SUM", 10_000, 10_000.0, 300_000),
           ("ex/q1", "QA", 1_000, 1_000.0, None), ("ex/q2", "QA", 500, 500.0, None)]
    total = sum(c for *_, c, _ in sup)
    rows = [{"task": t, "family": f, "num_examples": n, "num_capped": c, "rate": c / total / 3, "cap": k}
            for t, f, n, c, k in sup]
    rows.append({"task": "c4/span", "family": "Self-supervised", "num_examples": 364_868_892,
                 "num_capped": 364_868_892.0, "rate": 2 / 3, "cap": None})
    return rows


def test_the_self_supervised_share_is_shown_apart_and_the_cap_never_meets_it():
    rows = ext5_like_rows()
    fig = plot.plot_rates(rows, cap=300_000, title="ext5-like")
    sizes, rates, share = panel(fig, "sizes"), panel(fig, "rates"), panel(fig, "share")
    assert 364_868_892 not in bar_heights(sizes) and len(rates.patches) == 6  # C4 is not among the task bars
    supervised = sorted((100 * r["rate"] for r in rows[:6]), reverse=True)
    assert max(bar_heights(rates)) == pytest.approx(supervised[0])  # the rate axis is set by ExMix-like rates
    assert rates.get_ylim()[1] < 2 * supervised[0]
    assert strip_texts(fig) == ["NLI", "SUM", "QA"]
    # the cap covers the 4 capped bars (NLI, SUM), not the uncapped QA sub-mixture and never C4
    assert cap_segments(fig) == [(300_000, -0.5, 3.5)]
    # the share bar: C4's 66.7% (grey, hatched) then the families, largest first
    heights = bar_heights(share)
    assert heights[0] == pytest.approx(200 / 3) and sum(heights) == pytest.approx(100)
    assert share.patches[0].get_hatch() == "//"
    assert matplotlib.colors.to_hex(share.patches[0].get_facecolor()) == plot.SELF_SUPERVISED_COLOUR.lower()
    labels = [t.get_text() for t in share.texts]
    assert "c4/span\nself-supervised 66.7%" in labels and "supervised\n33.3%" in labels
    assert share.get_title() == "share of all examples"
    assert "self-supervised (c4/span) 66.7% of examples" in fig.get_suptitle().replace("\n", " ")


def test_self_supervised_comes_from_the_flag_then_the_family():
    assert plot.is_self_supervised({"family": "Self-supervised"})
    assert plot.is_self_supervised({"family": "self_supervised"})
    assert not plot.is_self_supervised({"family": "Self-supervised", "self_supervised": False})
    assert plot.is_self_supervised({"family": "text", "self_supervised": True})
    assert not plot.is_self_supervised({"family": "NLI"})
    # a Mixture passes its tasks' own flags: a self-supervised task in any family is shown apart
    tasks = [make_task("t/a", 100, "X"), make_task("t/text", 1000, "Corpus", self_supervised=True)]
    fig = plot.plot_rates(Mixture.from_strategy(tasks, S.Proportional(), name="m"))
    assert strip_texts(fig) == ["X"] and len(panel(fig, "rates").patches) == 1


def exmix_like_rows(num_families=15, num_tasks=107):
    rows = []
    for i in range(num_tasks):
        family = f"Family {i % num_families:02d}"
        rows.append({"task": f"exmix/task_with_a_long_name_{i:03d}", "family": family, "num_examples": 1000 + 997 * i,
                     "num_capped": float(min(1000 + 997 * i, 50_000)), "rate": 1.0 / num_tasks})
    return rows


def test_107_tasks_in_15_families_stay_readable():
    fig = plot.plot_rates(exmix_like_rows(), cap=50_000)
    assert fig.get_figwidth() <= 18
    assert len(strip_texts(fig)) == 15
    ticks = panel(fig, "rates").get_xticklabels()
    assert len(ticks) == 107 and min(t.get_fontsize() for t in ticks) >= 7
    assert all(t.get_text().startswith("task_with") for t in ticks)  # the shared namespace is dropped
    # neighbouring families never share a colour, and every name fits on its block
    fig.canvas.draw()
    strip = panel(fig, "families")
    colours = [matplotlib.colors.to_hex(p.get_facecolor()) for p in strip.patches]
    assert all(a != b for a, b in itertools.pairwise(colours))
    assert set(colours) <= {c.lower() for c in plot.FAMILY_PALETTE}
    renderer = fig.canvas.get_renderer()
    for text, block in zip(strip.texts, strip.patches, strict=True):
        box, area = text.get_window_extent(renderer), block.get_window_extent(renderer)
        long_side = box.width if text.get_rotation() == 0 else box.height
        room = area.width if text.get_rotation() == 0 else area.height
        assert long_side <= room + 1, text.get_text()
        assert text.get_fontsize() >= plot.UPRIGHT_FONT


def test_family_colours_are_colour_blind_safe_and_stable():
    colours = plot.family_colours(["B", "Self-supervised", "A", "B"])
    assert colours == {"B": plot.FAMILY_PALETTE[0], "Self-supervised": plot.SELF_SUPERVISED_COLOUR,
                       "A": plot.FAMILY_PALETTE[1]}
    many = plot.family_colours([f"f{i}" for i in range(14)])
    assert many["f12"] == plot.FAMILY_PALETTE[0] and many["f13"] == plot.FAMILY_PALETTE[1]  # cycles after 12
    assert plot.PALETTE_NAME == "okabe-ito+tol-muted"
    assert plot.family_order([{"family": "b", "rate": 0.2}, {"family": "a", "rate": 0.2},
                              {"family": "c", "rate": 0.6}]) == ["c", "a", "b"]


def test_rates_without_sizes_draw_the_rate_panel_alone():
    rows = [{**r, "num_examples": None, "num_capped": None} for r in mix().table()]
    fig = plot.plot_rates(rows)
    assert panel(fig, "sizes") is None and len(panel(fig, "rates").patches) == 4


def test_no_pyplot_and_no_backend_switch():
    source = inspect.getsource(plot)
    assert "pyplot" not in source.replace("``pyplot``", "") and "matplotlib.use" not in source


def test_redraws_from_the_manifest_alone():
    mixture = mix()
    rows, cap, title = plot.rows_from_manifest(json.loads(json.dumps(mixture.manifest())))
    keys = ("task", "num_examples", "num_capped", "rate")
    assert [{k: r[k] for k in keys} for r in rows] == [{k: r[k] for k in keys} for r in mixture.table()]
    assert [r["cap"] for r in rows] == [500.0] * 4  # each task's own cap is kept
    assert cap == 500 and title == "mixture small"
    assert cap_segments(plot.plot_rates(rows, cap=cap, title=title)) == [(500, -0.5, 3.5)]


def test_report_uses_the_samplers_plot(tmp_path, monkeypatch):
    mix().write_manifest(tmp_path / "mixture_manifest.json")
    calls = []
    real = plot.plot_rates

    def spy(rows, path=None, **kwargs):
        calls.append((rows, path, kwargs))
        return real(rows, path, **kwargs)

    monkeypatch.setattr(plot, "plot_rates", spy)
    run = load_run(tmp_path)
    html = sections.mixture_section(run, cv.leaves_of(run.manifest))
    assert "data:image/png;base64," in html
    (rows, path, kwargs), = calls
    assert path is None and kwargs == {"cap": 500.0, "title": "mixture small: 4 tasks"}
    assert {r["task"]: r["num_capped"] for r in rows} == {"ex/a": 100.0, "ex/b": 400.0, "ex/c": 500.0, "ex/d": 500.0}
    assert {r["task"]: r["cap"] for r in rows} == dict.fromkeys(("ex/a", "ex/b", "ex/c", "ex/d"), 500.0)
