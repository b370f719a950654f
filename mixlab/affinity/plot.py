"""A PNG of a transfer graph: its strongest edges beside a heatmap of every gain.

```
transfer graph --+--> strongest_edges(top_k= | threshold=) --> left:  circle of nodes, those edges only
                 +--> gain_matrix -> robust_scale(95th pct) --> right: heatmap, source rows x target columns
```

Both panels share one colour-blind-safe diverging map (``RdBu``: blue helps, red hurts, white is no
change; never red against green) on a symmetric scale of +-L, where L is the 95th percentile of the
absolute gains: one outlier (Table 2's -46.6%) no longer washes out every other cell. Cells beyond
+-L are drawn at the end colour, outlined, and counted in the colour bar's label, which states L.
The graph's title states how its edges were chosen. Drawn on its own Agg canvas: the global pyplot
backend is never switched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from mixlab._figures import save_figure
from mixlab.affinity.graph import gain_matrix, resolve_budget
from mixlab.errors import DataError

#: diverging, colour-blind-safe (red-blue); low = red = hurts, high = blue = helps
CMAP = "RdBu"
#: the symmetric colour limit is this percentile of |gain|
PERCENTILE = 95.0
#: edges the graph panel shows when neither ``top_k`` nor ``threshold`` is given
DEFAULT_TOP_K = 12


@dataclass(frozen=True, kw_only=True)
class Scale:
    """The heatmap's symmetric colour scale: ``limit`` (percent units), how it was chosen, what it clips."""

    limit: float
    percentile: float
    num_clipped: int
    max_abs: float

    @property
    def caption(self) -> str:
        beyond = (f"; {self.num_clipped} cell{'s' if self.num_clipped != 1 else ''} beyond (up to "
                  f"±{self.max_abs:.1f}) outlined" if self.num_clipped else "")
        return f"colours clipped at ±{self.limit:.1f} ({self.percentile:g}th percentile of |gain|){beyond}"


def robust_scale(values: np.ndarray, percentile: float = PERCENTILE) -> Scale:
    """The ``percentile`` of the finite ``|values|`` as a symmetric limit (the maximum when that is 0; 1 when
    all are 0), and how many values lie beyond it.

    >>> s = robust_scale(np.array([1.0, -2.0, 3.0, -40.0, np.nan]), percentile=75)
    >>> round(s.limit, 2), s.num_clipped, s.max_abs
    (12.25, 1, 40.0)
    """
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {percentile!r}")
    finite = np.abs(values[np.isfinite(values)])
    if not finite.size or not finite.max() > 0:
        return Scale(limit=1.0, percentile=percentile, num_clipped=0, max_abs=0.0)
    limit = float(np.percentile(finite, percentile)) or float(finite.max())
    return Scale(limit=limit, percentile=percentile, num_clipped=int((finite > limit + 1e-12).sum()),
                 max_abs=float(finite.max()))


def strongest_edges(graph: nx.DiGraph, budget: str | None = None, *, top_k: int | None = None,
                    threshold: float | None = None) -> list[tuple[str, str, float]]:
    """``(source, target, gain in percent)`` of the strongest edges by ``|gain|``, strongest first (ties by name).

    ``threshold`` keeps edges with ``|gain| >= threshold`` (percent); ``top_k`` keeps the first ``k``;
    with neither, ``top_k`` is :data:`DEFAULT_TOP_K`.
    """
    budget = resolve_budget(graph, budget)
    if top_k is not None and (isinstance(top_k, bool) or top_k < 1):
        raise DataError(f"top_k must be a positive number of edges, got {top_k!r}")
    if threshold is not None and not (math.isfinite(threshold) and threshold >= 0):
        raise DataError(f"threshold must be a finite |gain| in percent >= 0, got {threshold!r}")
    if top_k is None and threshold is None:
        top_k = DEFAULT_TOP_K
    edges = [(s, t, 100.0 * graph.edges[s, t]["gain"][budget]) for s, t in sorted(graph.edges) if s != t]
    edges = [e for e in edges if math.isfinite(e[2])]
    edges.sort(key=lambda e: (-abs(e[2]), e[0], e[1]))
    if threshold is not None:
        edges = [e for e in edges if abs(e[2]) >= threshold]
    return edges[:top_k] if top_k is not None else edges


def plot_transfer(graph: nx.DiGraph, path: str | Path | None = None, *, budget: str | None = None,
                  top_k: int | None = None, threshold: float | None = None, percentile: float = PERCENTILE,
                  dpi: int = 130) -> Any:
    """Write the figure to ``path`` (PNG) and return the path; without ``path``, return the Figure.

    ``top_k``/``threshold`` choose the graph's edges (:func:`strongest_edges`); ``percentile`` sets the
    colour limit (:func:`robust_scale`). The axes are labelled ``"graph"``, ``"heatmap"`` and ``"colorbar"``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    budget = resolve_budget(graph, budget)
    names, gains = gain_matrix(graph, budget)
    percent = 100.0 * gains
    scale = robust_scale(percent, percentile)
    norm = Normalize(-scale.limit, scale.limit, clip=True)
    unit = "gradient affinity (x100)" if graph.graph.get("kind") == "gradient" else "relative gain (%)"
    fig = Figure(figsize=(14, 6.6), layout="constrained")
    FigureCanvasAgg(fig)
    ax_graph, ax_heat = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.2]})
    ax_graph.set_label("graph")
    ax_heat.set_label("heatmap")
    edges = strongest_edges(graph, budget, top_k=top_k, threshold=threshold)
    _draw_graph(ax_graph, graph, names, edges, norm, scale.limit)
    num_all = sum(1 for s, t in graph.edges if s != t)
    if threshold is not None:
        how = f"{len(edges)} of {num_all} edges with |gain| ≥ {threshold:g}%" + (
            f" (strongest {top_k})" if top_k is not None else "")
    else:
        cut = f"|gain| ≥ {abs(edges[-1][2]):.1f}%" if edges else "none"
        how = f"strongest {len(edges)} of {num_all} edges by |gain| ({cut})"
    ax_graph.set_title(f"{how} at {budget!r}\nblue helps, red hurts; width ~ |gain|; arrow: source → target",
                       fontsize=10.5)

    image = ax_heat.imshow(np.ma.masked_invalid(percent), cmap=CMAP, norm=norm)
    ax_heat.set_facecolor("#e8e8e8")  # the diagonal (no edge) shows as grey, not as "no change"
    ax_heat.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax_heat.set_yticks(range(len(names)), names)
    ax_heat.set_xlabel("target (the task whose score is measured)", fontsize=10.5)
    ax_heat.set_ylabel("source (co-trained with the target)", fontsize=10.5)
    if len(names) <= 16:
        _annotate_cells(ax_heat, percent, norm, scale.limit)
    bar = fig.colorbar(image, ax=ax_heat, extend="both" if scale.num_clipped else "neither", shrink=0.9)
    bar.ax.set_label("colorbar")
    bar.set_label(f"{unit} at {budget!r}", fontsize=10)
    ax_heat.set_title(f"{unit} of each target when co-trained with each source\n{scale.caption}", fontsize=10.5)
    return save_figure(fig, path, dpi=dpi, facecolor="white")  # the format follows the suffix (PNG without one)


def _draw_graph(ax: Any, graph: nx.DiGraph, names: list[str], edges: list[tuple[str, str, float]], norm: Any,
                limit: float) -> None:
    from matplotlib import colormaps

    cmap = colormaps[CMAP]
    angles = [math.pi / 2 - 2 * math.pi * k / max(1, len(names)) for k in range(len(names))]
    pos = {n: (math.cos(a), math.sin(a)) for n, a in zip(names, angles, strict=True)}
    # edge colours are pushed away from white so that even the weakest shown edge stays visible
    colours = [cmap(norm(math.copysign(max(abs(v), 0.45 * limit), v))) for _, _, v in edges]
    widths = [1.0 + 4.0 * min(abs(v) / limit, 1.0) for _, _, v in edges]
    nx.draw_networkx_nodes(graph, pos, nodelist=names, ax=ax, node_color="#eeeeee", edgecolors="#555555",
                           node_size=1300)
    nx.draw_networkx_labels(graph, pos, labels={n: n for n in names}, ax=ax, font_size=9.5)
    style = "arc3,rad=0.15"
    nx.draw_networkx_edges(graph, pos, edgelist=[(s, t) for s, t, _ in edges], ax=ax, edge_color=colours,
                           width=widths, arrows=True, arrowsize=14, connectionstyle=style, node_size=1300)
    nx.draw_networkx_edge_labels(graph, pos, edge_labels={(s, t): f"{v:+.1f}" for s, t, v in edges}, ax=ax,
                                 font_size=8, connectionstyle=style, bbox={"boxstyle": "round,pad=0.15",
                                                                            "fc": "white", "ec": "none", "alpha": 0.85})
    ax.set_xlim(-1.3, 1.3)
    ax.set_ylim(-1.3, 1.3)
    ax.set_aspect("equal")
    ax.set_axis_off()


def _annotate_cells(ax: Any, percent: np.ndarray, norm: Any, limit: float) -> None:
    from matplotlib.patches import Rectangle

    for i in range(percent.shape[0]):
        for j in range(percent.shape[1]):
            value = percent[i, j]
            if not np.isfinite(value):
                continue
            clipped = abs(value) > limit + 1e-12
            ink = "white" if abs(norm(value) - 0.5) > 0.33 else "black"  # white on the dark ends of the map
            ax.text(j, i, f"{value:+.1f}", ha="center", va="center", fontsize=8, color=ink,
                    fontweight="bold" if clipped else "normal")
            if clipped:
                ax.add_patch(Rectangle((j - 0.46, i - 0.46), 0.92, 0.92, fill=False, edgecolor="black", linewidth=1.6))
