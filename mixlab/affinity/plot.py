"""A PNG of a transfer graph (edges coloured by sign, width by size) beside a heatmap of its gains."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from mixlab.affinity.graph import gain_matrix, resolve_budget


def plot_transfer(graph: nx.DiGraph, path: str | Path | None = None, *, budget: str | None = None,
                  dpi: int = 120) -> Any:
    """Write the figure to ``path`` (PNG) and return the path; without ``path``, return the Figure.

    matplotlib is imported here; the figure is drawn on its own Agg canvas, so the global
    pyplot backend is never switched.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import TwoSlopeNorm
    from matplotlib.figure import Figure

    budget = resolve_budget(graph, budget)
    names, gains = gain_matrix(graph, budget)
    percent = 100.0 * gains
    finite = np.abs(percent[np.isfinite(percent)])
    limit = float(finite.max()) if finite.size and finite.max() > 0 else 1.0

    fig = Figure(figsize=(13, 6))
    FigureCanvasAgg(fig)
    ax_graph, ax_heat = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.15]})
    angles = [2 * math.pi * k / len(names) for k in range(len(names))]
    pos = {n: (math.cos(a), math.sin(a)) for n, a in zip(names, angles, strict=True)}
    edges = [(s, t) for s, t in sorted(graph.edges) if s != t]
    values = [100.0 * graph.edges[e]["gain"][budget] for e in edges]
    colours = ["tab:green" if v >= 0 else "tab:red" for v in values]
    widths = [0.5 + 4.5 * abs(v) / limit for v in values]
    nx.draw_networkx_nodes(graph, pos, nodelist=names, ax=ax_graph, node_color="lightgrey", node_size=900)
    nx.draw_networkx_labels(graph, pos, labels={n: n for n in names}, ax=ax_graph, font_size=9)
    nx.draw_networkx_edges(graph, pos, edgelist=edges, ax=ax_graph, edge_color=colours, width=widths,
                           arrows=True, arrowsize=12, connectionstyle="arc3,rad=0.12", node_size=900, alpha=0.8)
    ax_graph.set_title(f"transfer at {budget!r}: green helps, red hurts, width ~ |gain|")
    ax_graph.set_axis_off()

    image = ax_heat.imshow(np.ma.masked_invalid(percent), cmap="RdYlGn", norm=TwoSlopeNorm(0.0, -limit, limit))
    ax_heat.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax_heat.set_yticks(range(len(names)), names)
    ax_heat.set_xlabel("target")
    ax_heat.set_ylabel("source (co-trained with)")
    if len(names) <= 16:
        for i in range(len(names)):
            for j in range(len(names)):
                if np.isfinite(percent[i, j]):
                    strong = abs(percent[i, j]) > 0.6 * limit  # white text on dark cells
                    ax_heat.text(j, i, f"{percent[i, j]:+.1f}", ha="center", va="center", fontsize=7,
                                 color="white" if strong else "black")
    fig.colorbar(image, ax=ax_heat, label=f"relative gain over target baseline at {budget!r} (%)")
    ax_heat.set_title("gain matrix (%)")
    fig.tight_layout()
    if path is None:
        return fig
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png", dpi=dpi)
    return out
