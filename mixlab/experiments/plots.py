"""The protocols' figures (matplotlib on an Agg canvas, never pyplot), written as PNG files.

``curve`` draws one line per series with a shaded ±1 std band (ExT5 Figures 3-5), optionally a
dashed reference line (Figure 3's "no ExMix"); ``bars`` draws one bar per method (Table 4).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

#: (x, mean, std) points of one series
Points = Sequence[tuple[float, float, float]]


def curve(path: Path, series: Mapping[str, Points], *, xlabel: str, ylabel: str, title: str,
          reference: tuple[float, float, str] | None = None, categorical: bool = False) -> Path:
    """Lines with ±std bands; ``reference`` = (mean, std, label) drawn dashed across; ``categorical`` spaces
    the x values evenly and labels them (the paper's R axis)."""
    from mixlab._optional import require
    from mixlab.report.figures import new_figure

    require("matplotlib", "plot", "the experiment's figures")
    fig = new_figure(6.4, 4.0)
    ax = fig.add_subplot()
    xs_all = sorted({x for points in series.values() for x, _, _ in points})
    position = {x: float(i) for i, x in enumerate(xs_all)} if categorical else {x: x for x in xs_all}
    for label, points in series.items():
        ordered = sorted(points)
        xs = [position[x] for x, _, _ in ordered]
        means = [m for _, m, _ in ordered]
        stds = [s for _, _, s in ordered]
        line, = ax.plot(xs, means, marker="o", label=label)
        if any(stds):
            ax.fill_between(xs, [m - s for m, s in zip(means, stds, strict=True)],
                            [m + s for m, s in zip(means, stds, strict=True)], color=line.get_color(), alpha=0.18)
    if reference is not None:
        mean, std, label = reference
        ax.axhline(mean, linestyle="--", color="0.35", label=label)
        if std:
            ax.axhspan(mean - std, mean + std, color="0.35", alpha=0.08)
    if categorical:
        ax.set_xticks(list(position.values()), [f"{x:g}" for x in xs_all])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=11)
    ax.grid(alpha=0.3)
    if len(series) > 1 or reference is not None:
        ax.legend(fontsize=9)
    fig.savefig(path, dpi=110, facecolor="white")
    return path


def bars(path: Path, rows: Sequence[tuple[str, float, float]], *, ylabel: str, title: str) -> Path:
    """One bar per (label, mean, std), with error bars when std > 0, values written on the bars."""
    from mixlab._optional import require
    from mixlab.report.figures import new_figure

    require("matplotlib", "plot", "the experiment's figures")
    fig = new_figure(6.0, 3.8)
    ax = fig.add_subplot()
    labels = [label for label, _, _ in rows]
    means = [mean for _, mean, _ in rows]
    stds = [std for _, _, std in rows]
    drawn = ax.bar(range(len(rows)), means, yerr=stds if any(stds) else None, capsize=4,
                   color=["tab:gray", "tab:orange", "tab:blue", "tab:green"][: len(rows)] or None)
    ax.bar_label(drawn, labels=[f"{m:.4g}" for m in means], fontsize=9)
    ax.set_xticks(range(len(rows)), labels)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=11)
    ax.grid(axis="y", alpha=0.3)
    fig.savefig(path, dpi=110, facecolor="white")
    return path


__all__ = ["bars", "curve"]
