"""The report's arithmetic: curves, family weighting, manifest leaves, cap lookup, smoothing."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mixlab.report import curves as cv
from mixlab.report.figures import smoothed
from mixlab.run_folder import load as load_run
from tests.report.fakerun import manifest

LEAVES = cv.leaves_of(manifest())


def test_leaves_from_the_manifest():
    assert [(leaf.task, leaf.family, leaf.rate, leaf.num_examples) for leaf in LEAVES] == [
        ("toy/nli_a", "NLI", 0.5, 400_000), ("toy/nli_b", "NLI", 0.2, 120_000), ("toy/sum", "SUM", 0.3, 180_000)]
    assert LEAVES[0].plugin == "mixlab-toy 0.3"
    assert cv.family_rates(LEAVES) == {"NLI": (2, 0.7), "SUM": (1, 0.3)}


def test_leaves_accepts_a_leaves_list_and_drops_bad_entries():
    data = {"leaves": [{"task": "b/x", "family": "F", "rate": 0.25}, {"task": "a/y", "rate": "high"},
                       {"rate": 0.5}, "junk", {"task": "a/z", "rate": 0.75, "plugin": "pkg"}]}
    assert [(leaf.task, leaf.family, leaf.plugin) for leaf in cv.leaves_of(data)] == [
        ("a/z", "(none)", "pkg"), ("b/x", "F", "")]
    assert cv.mixture_problems(data) == 2
    assert cv.leaves_of(None) == [] and cv.leaves_of({"tasks": "oops"}) == []


def test_family_loss_is_rate_weighted_without_token_counts():
    records = [{"step": 5, "task_loss": {"toy/nli_a": 2.0, "toy/nli_b": 4.0, "toy/sum": 1.0, "other/t": 9.0}},
               {"step": 1, "task_loss": {"toy/nli_b": 3.0}}]
    fams = cv.family_curves(records, LEAVES)
    assert fams["NLI"].steps == [1.0, 5.0]
    assert fams["NLI"].values == pytest.approx([3.0, (0.5 * 2.0 + 0.2 * 4.0) / 0.7])
    assert fams["SUM"].values == [1.0]


def test_family_loss_is_token_weighted_with_token_counts():
    records = [{"step": 2, "task_loss": {"toy/nli_a": 2.0, "toy/nli_b": 4.0},
                "task_tokens": {"toy/nli_a": 30, "toy/nli_b": 10}}]
    assert cv.family_curves(records, LEAVES)["NLI"].values == [pytest.approx((30 * 2.0 + 10 * 4.0) / 40)]


def test_scalar_curve_skips_non_numbers_and_sorts():
    records = [{"step": 3, "loss": 1.0}, {"step": 1, "loss": 2.0}, {"step": 2, "loss": "nan"},
               {"step": 4, "loss": float("inf")}, {"step": 5, "loss": True}, {"step": 6, "train_loss": 0.5}]
    curve = cv.scalar_curve(records, cv.LOSS_KEYS)
    assert (curve.steps, curve.values, curve.last) == ([1.0, 3.0, 6.0], [2.0, 1.0, 0.5], 0.5)


def test_task_curves_ignore_eval_records():
    records = [{"step": 2, "task_loss": {"b": 1.0, "a": 2.0}}, {"step": 2, "eval_task_loss": {"a": 9.0}}]
    assert {t: c.values for t, c in cv.task_curves(records).items()} == {"a": [2.0], "b": [1.0]}


def test_find_cap_searches_nested_specs():
    assert cv.find_cap({"strategy": {"kind": "proportional", "cap": 300000}}) == 300000
    assert cv.find_cap({"rmix": {"supervised": {"strategy": {"cap": 7}}}, "components": [{"cap": 3}]}) == 7
    assert cv.find_cap({"components": [{"weight": 1}, {"strategy": {"cap": 5}}]}) == 5
    assert cv.find_cap({"strategy": {"kind": "uniform"}}) is None and cv.find_cap(None) is None


def test_malformed_metric_lines_counted(tmp_path):
    good = json.dumps({"step": 1, "loss": 2.0})
    (tmp_path / "metrics.jsonl").write_text("\n".join([good, "{", "", "[]", '{"step": null}', '{"step": NaN}', good]))
    run = load_run(tmp_path)
    assert len(run.metrics) == 2 and run.num_bad_lines == 4
    assert run.bad_lines[0] == "line 2: {"


@given(st.lists(st.floats(-1e6, 1e6), min_size=50, max_size=300))
def test_smoothed_is_a_trailing_mean(values):
    out = smoothed(values)
    window = max(2, len(values) // 25)
    assert len(out) == len(values)
    for i in (0, len(values) // 2, len(values) - 1):
        chunk = values[max(0, i + 1 - window): i + 1]
        assert math.isclose(out[i], sum(chunk) / len(chunk), rel_tol=1e-9, abs_tol=1e-6)


def test_smoothed_leaves_short_curves_alone():
    assert smoothed([1.0] * 49) is None


def test_mixture_plot_rows_use_the_manifests_capped_sizes(monkeypatch):
    """The report draws ``mixlab rates --plot``'s figure from the manifest: its ``num_capped`` when recorded,
    else ``min(num_examples, cap)``."""
    from mixlab.report import sections
    from mixlab.samplers import plot

    tasks = [{"name": "t/a", "family": "f", "rate": 0.5, "num_examples": 10_000, "num_capped": 2_500.0},
             {"name": "t/b", "family": "f", "rate": 0.5, "num_examples": 10_000}]
    drawn = {}
    monkeypatch.setattr(plot, "plot_rates", lambda rows, **kw: drawn.update(rows=rows, **kw))
    monkeypatch.setattr(sections.figures, "to_data_uri", lambda fig: "data:")
    sections._mixture_plot(cv.leaves_of({"tasks": tasks}), 3_000.0, "m")
    assert [(r["task"], r["num_capped"]) for r in drawn["rows"]] == [("t/a", 2_500.0), ("t/b", 3_000.0)]
    assert drawn["cap"] == 3_000.0 and drawn["title"] == "mixture m: 2 tasks"
