"""The rates plot: its own Figure (no pyplot, backend untouched), the cap line at the cap, manifests, report."""

from __future__ import annotations

import inspect
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


def cap_lines(fig):
    ax = fig.axes[0]
    return [line.get_ydata()[0] for line in ax.get_lines() if line.get_linestyle() == "--"]


def test_draws_on_its_own_figure_with_the_cap_at_the_cap_value(tmp_path):
    from matplotlib.figure import Figure

    backend = matplotlib.get_backend()
    fig = plot.plot_rates(mix().table(), cap=500, title="t")
    assert isinstance(fig, Figure) and matplotlib.get_backend() == backend
    assert cap_lines(fig) == [500]
    bars = [p.get_height() for p in fig.axes[0].patches]
    assert bars == [3000, 1000, 400, 100, 500, 500, 400, 100]  # sizes, then counted sizes, largest first
    rates = fig.axes[1].get_lines()[0].get_ydata()
    assert list(rates) == pytest.approx([100 * 500 / 1500, 100 * 500 / 1500, 100 * 400 / 1500, 100 * 100 / 1500])
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["d", "c", "b", "a"]
    # a cap above every task: the line is still drawn at the cap, not at the largest capped size
    assert cap_lines(plot.plot_rates(mix().table(), cap=5000)) == [5000]
    assert cap_lines(plot.plot_rates(mix().table())) == []
    path = plot.plot_rates(mix(), tmp_path / "sub" / "rates.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_no_pyplot_and_no_backend_switch():
    source = inspect.getsource(plot)
    assert "pyplot" not in source.replace("``pyplot``", "") and "matplotlib.use" not in source


def test_redraws_from_the_manifest_alone():
    mixture = mix()
    rows, cap, title = plot.rows_from_manifest(json.loads(json.dumps(mixture.manifest())))
    keys = ("task", "num_examples", "num_capped", "rate")
    assert [{k: r[k] for k in keys} for r in rows] == [{k: r[k] for k in keys} for r in mixture.table()]
    assert cap == 500 and title == "mixture small"
    assert cap_lines(plot.plot_rates(rows, cap=cap, title=title)) == [500]


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
