"""A figure of an influence matrix with its confidence intervals.

Left: heatmap, source rows x target columns, on the colour-blind-safe diverging map the affinity plots
use (``RdBu``: blue helps, red hurts), symmetric around 0. Each cell shows its value and, when the
matrix has intervals, the interval below it; a cell whose interval contains 0 is hatched (not
distinguishable from no effect at that level). Right: the cells with the largest ``|value|`` as a
forest plot, point and interval per source -> target, filled where the interval excludes 0.

Drawn on its own Agg canvas (the global pyplot backend is never switched).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mixlab._figures import save_figure
from mixlab.affinity.influence import InfluenceMatrix
from mixlab.affinity.plot import CMAP, robust_scale

#: cells the forest panel shows at most
MAX_ROWS = 24


def _scale(matrix: InfluenceMatrix) -> tuple[float, float]:
    """``(factor, limit)``: values shown x100 (percent) when every |value| < 1, and the symmetric colour limit."""
    finite = np.abs(matrix.values[np.isfinite(matrix.values)])
    factor = 100.0 if finite.size and finite.max() < 1.0 else 1.0
    return factor, robust_scale(matrix.values * factor).limit


def plot_influence(matrix: InfluenceMatrix, path: str | Path | None = None, *, dpi: int = 120,
                   max_rows: int = MAX_ROWS) -> Any:
    """Write the figure to ``path`` (format from the suffix, e.g. PNG) and return the path; without ``path``,
    return the Figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import TwoSlopeNorm
    from matplotlib.figure import Figure

    factor, limit = _scale(matrix)
    unit = "%" if factor == 100.0 else ""
    values = matrix.values * factor
    lower = None if matrix.lower is None else matrix.lower * factor
    upper = None if matrix.upper is None else matrix.upper * factor
    significant = matrix.significant()
    num_s, num_t = values.shape

    fig = Figure(figsize=(max(11.0, 4.5 + 1.1 * num_t + 5.0), max(5.0, 1.0 + 0.7 * num_s)))
    FigureCanvasAgg(fig)
    ax_heat, ax_forest = fig.subplots(1, 2, gridspec_kw={"width_ratios": [max(num_t, 3), 4]})
    norm = TwoSlopeNorm(0.0, -limit, limit)
    image = ax_heat.imshow(np.ma.masked_invalid(np.clip(values, -limit, limit)), cmap=CMAP, norm=norm, aspect="auto")
    ax_heat.set_xticks(range(num_t), matrix.targets, rotation=40, ha="right")
    ax_heat.set_yticks(range(num_s), matrix.sources)
    ax_heat.set_xlabel("target")
    ax_heat.set_ylabel("source (trained on)")
    for s in range(num_s):
        for t in range(num_t):
            if not np.isfinite(values[s, t]):
                continue
            dark = abs(values[s, t]) > 0.6 * limit
            text = f"{values[s, t]:+.2g}"
            if lower is not None and upper is not None:
                text += f"\n[{lower[s, t]:+.2g}, {upper[s, t]:+.2g}]"
                if not significant[s, t]:
                    ax_heat.add_patch(_hatch(s, t))
            ax_heat.text(t, s, text, ha="center", va="center", fontsize=7 if num_t <= 8 else 5,
                         color="white" if dark else "black")
    level = f"{matrix.level:.0%} intervals; hatched: interval contains 0" if matrix.has_intervals else "no intervals"
    fig.colorbar(image, ax=ax_heat, label=f"influence{f' ({unit})' if unit else ''}: blue helps, red hurts")
    ax_heat.set_title(f"{matrix.provenance.kind}: {level}", fontsize=10)
    _forest(ax_forest, matrix, values, lower, upper, significant, max_rows, unit)
    fig.suptitle(matrix.provenance.metric, fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path, dpi=dpi)


def _hatch(row: int, col: int) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle((col - 0.5, row - 0.5), 1, 1, fill=False, hatch="///", edgecolor="0.35", linewidth=0)


def _forest(ax: Any, matrix: InfluenceMatrix, values: np.ndarray, lower: np.ndarray | None, upper: np.ndarray | None,
            significant: np.ndarray, max_rows: int, unit: str) -> None:
    cells = [(s, t) for s in range(values.shape[0]) for t in range(values.shape[1])
             if np.isfinite(values[s, t]) and matrix.sources[s] != matrix.targets[t]]
    cells = sorted(cells, key=lambda c: (-abs(values[c]), c))[:max_rows]
    cells = sorted(cells, key=lambda c: values[c])
    ys = np.arange(len(cells))
    points = np.array([values[c] for c in cells])
    colours = ["tab:blue" if v >= 0 else "tab:red" for v in points]
    if lower is not None and upper is not None and cells:
        low = points - np.array([lower[c] for c in cells])
        high = np.array([upper[c] for c in cells]) - points
        ax.errorbar(points, ys, xerr=np.vstack([np.maximum(low, 0), np.maximum(high, 0)]), fmt="none",
                    ecolor="0.4", elinewidth=1.2, capsize=3)
    filled = np.array([bool(significant[c]) for c in cells], dtype=bool)
    if cells:
        ax.scatter(points[filled], ys[filled], c=[colours[i] for i in np.flatnonzero(filled)], zorder=3, s=28)
        ax.scatter(points[~filled], ys[~filled], facecolors="white", zorder=3, s=28,
                   edgecolors=[colours[i] for i in np.flatnonzero(~filled)])
    ax.axvline(0.0, color="0.3", linewidth=0.8)
    ax.set_yticks(ys, [f"{matrix.sources[s]} -> {matrix.targets[t]}" for s, t in cells], fontsize=7)
    ax.set_xlabel(f"influence{f' ({unit})' if unit else ''}")
    shown = f"{len(cells)} largest |influence|" if len(cells) == max_rows else f"all {len(cells)} cells"
    ax.set_title(f"{shown}; hollow: interval contains 0" if matrix.has_intervals else shown, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
