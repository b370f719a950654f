"""The report's mixture-weights part: the target weights over training (a schedule or a policy moves them).

Drawn from the policy's ``weights`` (``policy`` in ``metrics.jsonl``), else from ``task_weights`` (what the
data was drawn with at each log step), beside
the realised share of examples per task when the run logs ``task_example_share``, and the policy's
per-task signal (DoReMi's excess loss, ODM's reward) when it logs one. With more than
``MAX_TASKS`` tasks, the ones whose weight moved most are drawn and the rest summed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mixlab.report.curves import Curve, mapping_curves
from mixlab.report.figures import new_figure, to_data_uri
from mixlab.report.html import figure, note, table

#: tasks drawn one by one; the rest are summed into "other tasks"
MAX_TASKS = 10


def weights_part(report: Any) -> str:
    """The part of the page (an ``OPTIONAL_SECTIONS`` entry): the figure and a table of first/last weights;
    ``""`` (the part is left out) when the weights never changed."""
    records = [r for r in report.run.metrics if isinstance(r.get("task_weights"), Mapping)]
    if not records:
        return ""  # no mixture (synthetic data): the part is left out
    # the policy's weights when it logs them (DoReMi weights the loss: the data's stay), else the data's
    weights = mapping_curves([{"step": r["step"], "w": (r.get("policy") or {}).get("weights")} for r in records], "w")
    weights = weights or mapping_curves(records, "task_weights")
    moved = {task: max(c.values) - min(c.values) for task, c in weights.items()}
    policy = next((r["policy"] for r in reversed(records) if isinstance(r.get("policy"), Mapping)), None)
    kind = policy.get("kind") if policy else None
    if not any(moved.values()):
        return ""  # a static mixture: its weights are in the mixture part
    shares = mapping_curves(report.run.metrics, "task_example_share")
    signal = mapping_curves([{"step": r["step"], "signal": r["policy"].get("signal")} for r in records
                             if isinstance(r.get("policy"), Mapping)], "signal")
    fig = weights_figure(weights, shares, signal, f"policy {kind}" if kind else "schedule")
    caption = ("Target weight of each task at each log step (solid; the policy's weights: DoReMi applies them to "
               "the loss, the others to the data)"
               + (", realised share of examples (dotted)" if shares else "")
               + (", and the policy's per-task signal (right)" if signal else "") + ".")
    rows = [(task, f"{c.values[0]:.4f}", f"{c.values[-1]:.4f}", f"{moved[task]:.4f}") for task, c in weights.items()]
    out = [figure(to_data_uri(fig), "mixture weights over training", caption, full=True),
           table(["task", "first weight", "last weight", "range"], rows, numeric=(1, 2, 3), scroll=True)]
    average = policy.get("average") if policy else None
    if isinstance(average, Mapping):
        out.append(note(f"{kind}: the averaged weights (the mixture for the main run) are written to "
                        f"doremi_mixture.yaml at the end of the run; last logged average: "
                        + ", ".join(f"{t} {float(w):.3f}" for t, w in sorted(average.items()))))
    return "\n".join(out)


def _top(curves: dict[str, Curve], keep: Sequence[str]) -> dict[str, Curve]:
    """``keep``'s curves, plus the sum of the others (same steps) as "other tasks"."""
    out = {task: curves[task] for task in keep if task in curves}
    rest = [c for task, c in curves.items() if task not in keep]
    if rest:
        steps = rest[0].steps
        out["other tasks"] = Curve(steps=steps, values=[sum(c.values[i] for c in rest if i < len(c.values))
                                                        for i in range(len(steps))])
    return out


def weights_figure(weights: dict[str, Curve], shares: dict[str, Curve], signal: dict[str, Curve], title: str) -> Any:
    """Weights (step lines) with realised shares (dotted), and the policy's signal in a second panel."""
    moved = sorted(weights, key=lambda t: max(weights[t].values) - min(weights[t].values), reverse=True)
    keep = sorted(moved[:MAX_TASKS])
    fig = new_figure(11 if signal else 7.5, 3.8)
    axes = fig.subplots(1, 2 if signal else 1, squeeze=False)[0]
    colours = {task: f"C{i % 10}" for i, task in enumerate([*keep, "other tasks"])}
    for task, curve in _top(weights, keep).items():
        axes[0].step(curve.steps, curve.values, where="post", color=colours[task], label=task, linewidth=1.6)
    for task, curve in (_top(shares, keep) if shares else {}).items():
        axes[0].plot(curve.steps, curve.values, linestyle=":", color=colours.get(task, "grey"), linewidth=1.0)
    axes[0].set(xlabel="step", ylabel="weight (probability)", title=f"Mixture weights ({title})", ylim=(0, None))
    axes[0].legend(fontsize=7, loc="best")
    if signal:
        for task, curve in signal.items():
            if task in keep:
                axes[1].plot(curve.steps, curve.values, color=colours[task], linewidth=1.0, label=task)
        axes[1].set(xlabel="step", ylabel="signal", title="Policy signal per task (DoReMi: excess loss)")
    return fig


__all__ = ["MAX_TASKS", "mapping_curves", "weights_figure", "weights_part"]
