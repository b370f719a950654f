"""The rates plot (ExT5 Figure 1 style): task sizes sorted on a log scale, the cap, the resulting rates.

```
Mixture.table() rows | Mixture | Mixture.manifest() -> plot_rates(rows, cap=, title=) -> Figure or PNG
```

Drawn on its own ``matplotlib.figure.Figure`` with an Agg canvas: ``pyplot`` is never imported and
the caller's backend is left alone. ``mixlab rates --plot`` and the run report both use it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

#: above this many tasks the x axis drops the task names
MAX_NAMED_TASKS = 120
SIZE_COLOUR, CAPPED_COLOUR, CAP_COLOUR, RATE_COLOUR = "#c6dbef", "#4292c6", "#c0392b", "#111111"


def rows_from_manifest(manifest: Mapping[str, Any]) -> tuple[list[dict[str, Any]], float | None, str]:
    """Table rows (task, family, num_examples, num_capped, rate), the cap and a title from a mixture
    manifest (:meth:`Mixture.manifest`); ``num_capped`` falls back to ``min(num_examples, cap)``."""
    cap = manifest.get("cap")
    rows = []
    for entry in manifest.get("tasks", []):
        size = entry.get("num_examples")
        capped = entry.get("num_capped")
        if capped is None and size is not None:
            capped = float(min(size, cap)) if cap else float(size)
        rows.append({"task": entry["name"], "family": entry.get("family"), "num_examples": size,
                     "num_capped": capped, "rate": entry["rate"]})
    return rows, cap, f"mixture {manifest.get('name', '')}".strip()


def plot_rates(
    rows: Sequence[Mapping[str, Any]] | Any,
    path: str | Path | None = None,
    *,
    cap: float | None = None,
    title: str | None = None,
    dpi: int = 150,
) -> Any:
    """Draw task sizes (bars, log scale, largest first), the part each counts (``num_capped``), the cap
    line at ``cap`` and the rates (dots, right axis, percent).

    ``rows`` are :meth:`Mixture.table` rows (``task``, ``num_examples``, ``num_capped``, ``rate``), or a
    :class:`Mixture` (its rows, ``cap`` and name are used unless given). Returns the ``Figure``, or the
    ``Path`` written when ``path`` is given (a PNG; parents are created).
    """
    if hasattr(rows, "table"):
        mixture = rows
        rows = mixture.table()
        cap = cap if cap is not None else getattr(mixture, "cap", None)
        title = title if title is not None else f"mixture {getattr(mixture, 'name', '')}".strip()
    fig = _draw(list(rows), cap, title)
    if path is None:
        return fig
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path


def _draw(rows: list[Mapping[str, Any]], cap: float | None, title: str | None) -> Any:
    from matplotlib.artist import Artist
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter

    ordered = sorted(rows, key=lambda r: (-(r["num_examples"] or 0), r["task"]))
    num = len(ordered)
    named = num <= MAX_NAMED_TASKS
    fig = Figure(figsize=(min(22.0, max(6.5, 0.13 * num + 2.5)), 6.2 if named else 4.6), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    x = list(range(num))
    sizes = [float(r["num_examples"] or 0) for r in ordered]
    capped = [float(r["num_capped"] if r["num_capped"] is not None else r["num_examples"] or 0) for r in ordered]
    ax.bar(x, sizes, width=0.85, color=SIZE_COLOUR, linewidth=0)
    ax.bar(x, capped, width=0.85, color=CAPPED_COLOUR, linewidth=0)
    ax.set_yscale("log")
    positive = [s for s in sizes + capped if s > 0]
    if positive:
        top = max(max(positive), cap or 0)
        ax.set_ylim(10 ** math.floor(math.log10(min(positive))), top * 2.5)
    handles: list[Artist] = [Patch(color=SIZE_COLOUR, label="train examples"),
               Patch(color=CAPPED_COLOUR, label="examples counted for the rate")]
    if cap:
        ax.axhline(cap, color=CAP_COLOUR, linestyle="--", linewidth=1.3)
        handles.append(Line2D([], [], color=CAP_COLOUR, linestyle="--", label=f"cap K = {cap:,.0f}"))
    ax.set_ylabel("train examples (log scale)")
    ax.set_xlim(-0.6, num - 0.4)
    ax.margins(x=0)
    names = [str(r["task"]) for r in ordered]
    prefix = _common_namespace(names)
    if named:
        ax.set_xticks(x)
        ax.set_xticklabels([n[len(prefix):] for n in names], rotation=90, fontsize=5.5 if num > 40 else 8)
        ax.tick_params(axis="x", length=0, pad=2)
    else:
        ax.set_xticks([])
    ax.set_xlabel(f"{num} {prefix}* tasks, sorted by size" if prefix else f"{num} tasks, sorted by size")
    rate_ax = ax.twinx()
    rates = [100 * float(r["rate"]) for r in ordered]
    rate_ax.plot(x, rates, color=RATE_COLOUR, marker="o", markersize=2.5 if num > 40 else 4, linewidth=0.9)
    rate_ax.set_ylim(0, max(rates, default=1) * 1.15 or 1)
    rate_ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}%"))
    rate_ax.set_ylabel("sampling rate")
    handles.append(Line2D([], [], color=RATE_COLOUR, marker="o", markersize=4, linewidth=0.9, label="rate"))
    ax.legend(handles=handles, loc="upper right", fontsize=8, frameon=False)
    ax.set_title(title or f"{num} tasks", loc="left", fontsize=11)
    return fig


def _common_namespace(names: list[str]) -> str:
    """``"ns/"`` when every name is in namespace ``ns`` (dropped from the tick labels), else ``""``."""
    spaces = {n.split("/", 1)[0] + "/" for n in names if "/" in n}
    return spaces.pop() if len(spaces) == 1 and all("/" in n for n in names) else ""


__all__ = ["plot_rates", "rows_from_manifest"]
