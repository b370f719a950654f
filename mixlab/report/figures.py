"""Matplotlib figures for the report, rendered to ``data:image/png;base64`` URIs.

matplotlib is imported inside the functions (``import mixlab.report`` stays light). Figures are
built as ``matplotlib.figure.Figure`` on an Agg canvas, never through ``pyplot``, so nothing here
touches the caller's global backend or figure registry.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

from mixlab.report.curves import Curve

DPI = 110
#: above this many curves a line plot drops its legend (the tables carry the numbers)
MAX_LEGEND = 20
#: above this many tasks, per-task losses are drawn as one small panel per family
MAX_SINGLE_PANEL = 12
#: small-multiple panels per row
PANELS_PER_ROW = 4


def new_figure(width: float, height: float) -> Any:
    """A ``Figure`` attached to an Agg canvas (no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def to_data_uri(fig: Any) -> str:
    """PNG bytes of ``fig`` as a data URI; a pyplot-managed figure is closed afterwards."""
    if hasattr(fig, "get_figure") and not hasattr(fig, "savefig"):  # an Axes was given
        fig = fig.get_figure()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    import sys

    if "matplotlib.pyplot" in sys.modules:  # figures made by other modules' plot functions may be registered
        sys.modules["matplotlib.pyplot"].close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def family_colours(families: Sequence[str]) -> dict[str, Any]:
    """A stable colour-blind-safe colour per family, in the given order (the rates figure's palette:
    :func:`mixlab.samplers.plot.family_colours`)."""
    from mixlab.samplers.plot import family_colours as colours

    return colours(families)


def training_figure(loss: Curve, lr: Curve, throughput: Curve, eval_loss: Curve | None = None) -> Any:
    """Three panels against the step: loss (with eval loss when logged), learning rate and tokens/s."""
    fig = new_figure(11, 3.4)
    panels = [(loss, "loss", "#1f77b4"), (lr, "learning rate", "#2ca02c"), (throughput, "tokens / s", "#9467bd")]
    for i, (curve, label, colour) in enumerate(panels):
        ax = fig.add_subplot(1, 3, i + 1)
        ax.set_title(label, loc="left", fontsize=10)
        ax.set_xlabel("step")
        if not len(curve):
            ax.text(0.5, 0.5, "not logged", ha="center", va="center", transform=ax.transAxes, color="grey")
            continue
        _plot_curve(ax, curve, colour, "train" if label == "loss" else label)
        ax.grid(alpha=0.3)
        if label == "loss" and eval_loss is not None and len(eval_loss):
            ax.plot(eval_loss.steps, eval_loss.values, color="#d62728", marker="s", markersize=4, linewidth=1.2,
                    label="eval")
            ax.legend(fontsize=8)
        if label == "learning rate":
            ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
    return fig


def curves_figure(curves: Mapping[str, Curve], title: str, colours: Mapping[str, Any] | None = None) -> Any:
    """Loss curves for several tasks or families on one axis (legend only up to ``MAX_LEGEND`` curves)."""
    from mixlab.samplers.plot import FAMILY_PALETTE

    fig = new_figure(11, 4.0)
    ax = fig.add_subplot()
    for i, (name, curve) in enumerate(curves.items()):
        colour = (colours or {}).get(name, FAMILY_PALETTE[i % len(FAMILY_PALETTE)])
        _plot_curve(ax, curve, colour, name, many=len(curves) > MAX_LEGEND)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    ax.set_title(title, loc="left", fontsize=11)
    if len(curves) <= MAX_LEGEND:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig


def family_panels_figure(curves: Mapping[str, Curve], family_of: Mapping[str, str]) -> Any:
    """Per-task loss curves as small multiples, one panel per family (tasks without a family go to "other")."""
    from mixlab.samplers.plot import FAMILY_PALETTE

    groups: dict[str, dict[str, Curve]] = {}
    for task, curve in curves.items():
        groups.setdefault(family_of.get(task, "other"), {})[task] = curve
    num_rows = math.ceil(len(groups) / PANELS_PER_ROW)
    fig = new_figure(11, 0.4 + 2.3 * num_rows)
    axes = fig.subplots(num_rows, PANELS_PER_ROW, sharex=True, sharey=True, squeeze=False).ravel()
    for ax, (family, members) in zip(axes, sorted(groups.items()), strict=False):  # spare axes are switched off
        for i, curve in enumerate(members.values()):
            smooth = smoothed(curve.values)
            colour = FAMILY_PALETTE[i % len(FAMILY_PALETTE)]
            ax.plot(curve.steps, curve.values if smooth is None else smooth, color=colour, linewidth=1.0)
        ax.set_title(f"{family} ({len(members)})", loc="left", fontsize=9)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
    for ax in axes[len(groups):]:
        ax.set_axis_off()
    fig.supxlabel("step", fontsize=9)
    fig.supylabel("loss", fontsize=9)
    return fig


def _plot_curve(ax: Any, curve: Curve, colour: Any, label: str, *, many: bool = False) -> None:
    """The raw curve; with many points, a faint raw line under a moving average."""
    smooth = smoothed(curve.values)
    if smooth is None:
        ax.plot(curve.steps, curve.values, color=colour, linewidth=0.8 if many else 1.4, label=label,
                marker="o" if len(curve) < 25 else None, markersize=3)
        return
    ax.plot(curve.steps, curve.values, color=colour, linewidth=0.6, alpha=0.25)
    ax.plot(curve.steps, smooth, color=colour, linewidth=0.9 if many else 1.6, label=label)


def smoothed(values: Sequence[float]) -> list[float] | None:
    """A trailing moving average over ~1/25 of the points, or ``None`` for short curves (< 50 points)."""
    if len(values) < 50:
        return None
    import numpy as np

    window = max(2, len(values) // 25)
    data = np.asarray(values, dtype=np.float64)
    sums = np.cumsum(np.concatenate([[0.0], data]))
    idx = np.arange(1, len(data) + 1)
    start = np.maximum(idx - window, 0)
    return ((sums[idx] - sums[start]) / (idx - start)).tolist()
