"""The report's "Mixture weights over training" part, from metrics records alone."""

from __future__ import annotations

from types import SimpleNamespace

from mixlab.report.weights import MAX_TASKS, mapping_curves, weights_figure, weights_part


def records(num_tasks: int, moving: bool):
    out = []
    for step in range(1, 21):
        shift = 0.02 * step if moving else 0.0
        weights = {f"t/{k:02d}": 1 / num_tasks for k in range(num_tasks)}
        weights["t/00"] += shift
        weights["t/01"] -= shift
        record = {"step": step, "loss": 1.0, "task_weights": weights}
        if moving:
            record["policy"] = {"kind": "odm", "weights": weights, "signal": {t: 0.1 * step for t in weights}}
        out.append(record)
    return out


def test_a_moving_policy_gets_a_figure_and_a_table():
    run = SimpleNamespace(metrics=records(3, moving=True))
    html = weights_part(SimpleNamespace(run=run))
    assert html.count("data:image/png;base64") == 1 and "first weight" in html
    assert "0.3333" in html and f"{1 / 3 + 0.4:.4f}" in html  # t/00 from 1/3 to 1/3 + 20 x 0.02


def test_static_weights_or_no_weights_leave_the_part_out():
    assert weights_part(SimpleNamespace(run=SimpleNamespace(metrics=records(3, moving=False)))) == ""
    assert weights_part(SimpleNamespace(run=SimpleNamespace(metrics=[{"step": 1, "loss": 2.0}]))) == ""


def test_many_tasks_are_drawn_as_the_movers_plus_the_rest(tmp_path):
    metrics = records(40, moving=True)
    curves = mapping_curves([{"step": r["step"], **r["policy"]} for r in metrics], "weights")
    fig = weights_figure(curves, {}, {}, "policy odm")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert len(labels) == MAX_TASKS + 1 and labels[-1] == "other tasks"
    path = tmp_path / "weights.png"
    fig.savefig(path)
    assert path.stat().st_size > 5000
