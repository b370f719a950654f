"""Predicted against true loss on held-out runs, one panel per target, Spearman in the title.

Drawn on its own Agg canvas (the global pyplot backend is never switched).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mixlab._figures import save_figure
from mixlab.search.validation import HeldOut


def plot_heldout(heldout: HeldOut, path: str | Path | None = None, *, title: str | None = None,
                 dpi: int = 120) -> Any:
    """Write the figure to ``path`` and return the path; without ``path``, return the Figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    num = len(heldout.targets)
    fig = Figure(figsize=(4.2 * num + 0.6, 4.4))
    FigureCanvasAgg(fig)
    axes = np.atleast_1d(fig.subplots(1, num, squeeze=False)[0])
    for k, (ax, target) in enumerate(zip(axes, heldout.targets, strict=True)):
        true, predicted = heldout.true[:, k], heldout.predicted[:, k]
        low, high = float(min(true.min(), predicted.min())), float(max(true.max(), predicted.max()))
        pad = 0.05 * (high - low or 1.0)
        ax.plot([low - pad, high + pad], [low - pad, high + pad], color="0.6", linewidth=1, linestyle="--",
                label="predicted = true")
        ax.scatter(true, predicted, s=22, color="tab:blue", edgecolors="white", linewidths=0.5, zorder=3)
        ax.set_xlim(low - pad, high + pad)
        ax.set_ylim(low - pad, high + pad)
        ax.set_aspect("equal")
        ax.set_xlabel(f"true {target}")
        ax.set_ylabel(f"predicted {target}")
        ax.set_title(f"{target}: Spearman {heldout.spearman[target]:.3f}", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=8, frameon=False)
    fig.suptitle(title or f"held-out runs ({heldout.method}, {len(heldout.rows)} runs)", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path, dpi=dpi)
