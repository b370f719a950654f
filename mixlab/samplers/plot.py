"""The rates plot, in the spirit of ExT5's Figure 1: tasks grouped and coloured by family, the
self-supervised share shown apart.

```
Mixture | Mixture.table() rows | rows_from_manifest(manifest) -> plot_rates(rows, cap=, title=) -> Figure or PNG
```

Layout (one ``matplotlib.figure.Figure`` on an Agg canvas: ``pyplot`` is never imported and the
caller's backend is left alone; ``mixlab rates --plot`` and the run report both draw it)::

    +- families: one coloured block per family, its name on it ---+  +- share ---------------+
    |  sizes: train examples per supervised task (log), the cap  |  |  one 100% bar: the    |
    |  rates: sampling probability per supervised task (%)       |  |  self-supervised part |
    +- task names (a shared namespace dropped) -------------------+  |  and each family      |

Self-supervised tasks (``row["self_supervised"]``, else a family named "Self-supervised") are left
out of the size and rate panels, so C4's 67% of an ExT5 mixture neither flattens the ExMix rates nor
meets the cap line; the share bar shows them. The cap is drawn only over the bars it applies to (a
row's own ``cap`` when rows carry one, as manifests do). Families are ordered by their total rate
(largest first) and tasks by size; colours come from the Okabe-Ito and Paul Tol colour-blind-safe
sets, and every family's name is written on its block, so colour is never the only cue.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mixlab._figures import save_figure

#: colour-blind-safe family colours: Okabe-Ito and Paul Tol's "muted" set, interleaved so neighbours differ
FAMILY_PALETTE = ("#332288", "#E69F00", "#44AA99", "#CC6677", "#0072B2", "#DDCC77", "#882255", "#56B4E9",
                  "#117733", "#D55E00", "#AA4499", "#999933")
PALETTE_NAME = "okabe-ito+tol-muted"
SELF_SUPERVISED_COLOUR = "#555555"
CAP_COLOUR = "#000000"
#: the part of a task above the cap is drawn in its family colour at this opacity
ABOVE_CAP_ALPHA = 0.35
#: the axes of a rates figure carry these labels (``ax.get_label()``), in drawing order
PANELS = ("families", "sizes", "rates", "share")
STRIP_FONT, UPRIGHT_FONT = 10.0, 8.5


def rows_from_manifest(manifest: Mapping[str, Any]) -> tuple[list[dict[str, Any]], float | None, str]:
    """Table rows (task, family, num_examples, num_capped, rate, and each task's own ``cap`` when recorded),
    the cap and a title from a mixture manifest (:meth:`Mixture.manifest`); ``num_capped`` falls back to
    ``min(num_examples, cap)``."""
    cap = manifest.get("cap")
    rows = []
    for entry in manifest.get("tasks", []):
        size = entry.get("num_examples")
        row = {"task": entry["name"], "family": entry.get("family"), "num_examples": size,
               "num_capped": capped_size(size, entry.get("num_capped"), entry.get("cap", cap)), "rate": entry["rate"]}
        row.update({k: entry[k] for k in ("cap", "self_supervised") if k in entry})
        rows.append(row)
    return rows, cap, f"mixture {manifest.get('name', '')}".strip()


def capped_size(num_examples: float | None, num_capped: float | None, cap: float | None) -> float | None:
    """The size a strategy counted for a task: ``num_capped`` when recorded, else ``min(num_examples, cap)``
    (``num_examples`` without a cap; ``None`` without a size).

    >>> capped_size(1000, None, 300), capped_size(1000, 250.0, 300), capped_size(None, None, 300)
    (300.0, 250.0, None)
    """
    if num_capped is not None:
        return num_capped
    if num_examples is None:
        return None
    return float(min(num_examples, cap) if cap else num_examples)


def plot_rates(
    rows: Sequence[Mapping[str, Any]] | Any,
    path: str | Path | None = None,
    *,
    cap: float | None = None,
    title: str | None = None,
    dpi: int = 150,
) -> Any:
    """Draw the mixture's rates figure (layout in the module docstring).

    ``rows`` are :meth:`Mixture.table` rows (``task``, ``family``, ``num_examples``, ``num_capped``,
    ``rate``; optional ``cap`` and ``self_supervised``), or a :class:`Mixture` (its rows, its tasks'
    ``self_supervised`` flags, ``cap`` and name are used unless given). Rows without sizes give the
    rate panel alone. Returns the ``Figure``, or the ``Path`` written when ``path`` is given (a PNG;
    parents are created).
    """
    if hasattr(rows, "table"):
        mixture = rows
        tasks = getattr(mixture, "tasks", {})
        rows = [{**r, "self_supervised": bool(getattr(tasks.get(r["task"]), "self_supervised", False))}
                for r in mixture.table()]
        cap = cap if cap is not None else getattr(mixture, "cap", None)
        title = title if title is not None else f"mixture {getattr(mixture, 'name', '')}".strip()
    return save_figure(_draw(list(rows), cap, title), path, dpi=dpi, facecolor="white")


def is_self_supervised(row: Mapping[str, Any]) -> bool:
    """``row["self_supervised"]`` when given, else whether its family is named "Self-supervised"."""
    flag = row.get("self_supervised")
    return bool(flag) if flag is not None else _is_self_supervised_family(row.get("family"))


def _is_self_supervised_family(family: Any) -> bool:
    return re.sub(r"[^a-z]", "", str(family or "").lower()) == "selfsupervised"


def family_order(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Families of ``rows`` by total rate, largest first (ties by name); a missing family is "(none)"."""
    totals: dict[str, float] = {}
    for r in rows:
        family = str(r.get("family") or "(none)")
        totals[family] = totals.get(family, 0.0) + float(r["rate"])
    return sorted(totals, key=lambda f: (-totals[f], f))


def family_colours(families: Iterable[str]) -> dict[str, str]:
    """A colour per family, in the given order (the palette cycles after 12; neighbours never repeat).
    A self-supervised family is dark grey."""
    colours: dict[str, str] = {}
    for family in families:
        if family in colours:
            continue
        if _is_self_supervised_family(family):
            colours[family] = SELF_SUPERVISED_COLOUR
        else:
            used = sum(1 for f in colours if not _is_self_supervised_family(f))
            colours[family] = FAMILY_PALETTE[used % len(FAMILY_PALETTE)]
    return colours


def _draw(rows: list[Mapping[str, Any]], cap: float | None, title: str | None) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    supervised = [r for r in rows if not is_self_supervised(r)]
    apart = [r for r in rows if is_self_supervised(r)]
    families = family_order(supervised)
    rank = {f: i for i, f in enumerate(families)}
    ordered = sorted(supervised, key=lambda r: (rank[str(r.get("family") or "(none)")], -(r["num_examples"] or 0),
                                                -float(r["rate"]), str(r["task"])))
    num = len(ordered)
    have_sizes = any(r["num_examples"] for r in ordered)
    width = min(18.0, max(10.0, 0.125 * num + 4.0))
    main_width = width * 0.86 - 1.2  # inches of the task panels (the share bar and the labels take the rest)
    labels = _family_labels(families, ordered, main_width)
    strip = max(0.45, min(1.5, max((label[3] for label in labels.values()), default=0.3) + 0.1))
    heights = [strip] + ([3.3 if num > 40 else 2.6] if have_sizes else []) + [2.4 if num > 40 else 2.0]
    fig = Figure(figsize=(width, sum(heights) + (2.3 if num > 40 else 2.0)), layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(len(heights), 2, width_ratios=[6.0, 1.0], height_ratios=heights)
    colours = family_colours(families)
    colour_of = [colours[str(r.get("family") or "(none)")] for r in ordered]
    groups = _groups([str(r.get("family") or "(none)") for r in ordered])
    ax_strip = fig.add_subplot(grid[0, 0], label="families")
    _draw_strip(ax_strip, groups, colours, labels, num)
    ax_rates = fig.add_subplot(grid[len(heights) - 1, 0], label="rates", sharex=ax_strip)
    if have_sizes:
        ax_sizes = fig.add_subplot(grid[1, 0], label="sizes", sharex=ax_strip)
        _draw_sizes(ax_sizes, ordered, colour_of, groups, cap)
    _draw_rates(ax_rates, ordered, colour_of, groups)
    ax_share = fig.add_subplot(grid[1:, 1], label="share")
    _draw_share(ax_share, apart, supervised, families, colours)
    subtitle = f"{num} supervised tasks in {len(families)} families"
    if apart:
        share = 100 * sum(float(r["rate"]) for r in apart)
        subtitle += f"; self-supervised ({_names(apart)}) {share:.1f}% of examples, shown on the right"
    subtitle = textwrap.fill(subtitle, width=int(width * 9.5))
    fig.suptitle(f"{title or 'mixture'}\n{subtitle}", x=0.01, ha="left", fontsize=13)
    return fig


def _names(rows: Sequence[Mapping[str, Any]]) -> str:
    return ", ".join(str(r["task"]) for r in rows[:2]) + (f" and {len(rows) - 2} more" if len(rows) > 2 else "")


def _groups(families: list[str]) -> list[tuple[str, int, int]]:
    """(family, first index, one past the last) of each run of equal families."""
    out: list[tuple[str, int, int]] = []
    for i, family in enumerate(families):
        if out and out[-1][0] == family:
            out[-1] = (family, out[-1][1], i + 1)
        else:
            out.append((family, i, i + 1))
    return out


def _family_labels(families: list[str], ordered: list[Mapping[str, Any]], inches: float) -> dict[str, tuple]:
    """family -> (text, rotation, font size, height in inches): across its block on one line if it fits,
    else on two, else upright (smaller)."""
    per_task = inches / max(1, len(ordered))
    out: dict[str, tuple] = {}
    for family in families:
        room = per_task * sum(1 for r in ordered if str(r.get("family") or "(none)") == family) - 0.08
        words = family.split()
        halves = [" ".join(words[:k]) + "\n" + " ".join(words[k:]) for k in range(1, len(words))]
        two = min(halves, key=lambda t: _text_inches(t, STRIP_FONT), default=None)
        across = [(text, size) for size in (STRIP_FONT, UPRIGHT_FONT) for text in (family, two) if text is not None]
        fits = [(text, size) for text, size in across if _text_inches(text, size) <= room]
        if fits:
            text, size = fits[0]
            out[family] = (text, 0, size, 0.3 + 0.2 * text.count("\n"))
        elif two is not None and room >= 2.6 * UPRIGHT_FONT / 72:
            out[family] = (two, 90, UPRIGHT_FONT, _text_inches(two, UPRIGHT_FONT) + 0.1)
        else:
            out[family] = (family, 90, UPRIGHT_FONT, _text_inches(family, UPRIGHT_FONT) + 0.1)
    return out


def _text_inches(text: str, size: float) -> float:
    """Width in inches of the widest line of ``text`` at font ``size`` (the default font)."""
    from matplotlib.textpath import TextPath

    return max(TextPath((0, 0), line, size=size).get_extents().width for line in text.split("\n")) / 72


def _draw_strip(ax: Any, groups: list[tuple[str, int, int]], colours: Mapping[str, str],
                labels: Mapping[str, tuple], num: int) -> None:
    for family, start, stop in groups:
        ax.axvspan(start - 0.5, stop - 0.5, color=colours[family], linewidth=0)
        text, rotation, size, _ = labels[family]
        ax.text((start + stop - 1) / 2, 0.5, text, rotation=rotation, ha="center", va="center", fontsize=size,
                color=_ink(colours[family]), linespacing=1.0)
    ax.set_xlim(-0.5, max(num, 1) - 0.5)
    ax.set_ylim(0, 1)
    ax.set_axis_off()


def _ink(colour: str) -> str:
    """White text on dark colours, black on light ones (relative luminance)."""
    from matplotlib.colors import to_rgb

    red, green, blue = to_rgb(colour)
    return "white" if 0.2126 * red + 0.7152 * green + 0.0722 * blue < 0.5 else "black"


def _separators(ax: Any, groups: list[tuple[str, int, int]]) -> None:
    for _, start, _stop in groups[1:]:
        ax.axvline(start - 0.5, color="#bbbbbb", linewidth=0.6, zorder=0)


def _draw_sizes(ax: Any, ordered: list[Mapping[str, Any]], colour_of: list[str],
                groups: list[tuple[str, int, int]], cap: float | None) -> None:
    x = list(range(len(ordered)))
    sizes = [float(r["num_examples"] or 0) for r in ordered]
    counted = [float(r["num_capped"] if r.get("num_capped") is not None else r["num_examples"] or 0) for r in ordered]
    ax.bar(x, sizes, width=0.82, color=colour_of, alpha=ABOVE_CAP_ALPHA, linewidth=0, label="above the cap")
    ax.bar(x, counted, width=0.82, color=colour_of, linewidth=0, label="counted for the rate")
    ax.set_yscale("log")
    positive = [s for s in sizes + counted if s > 0]
    if positive:
        ax.set_ylim(10 ** math.floor(math.log10(min(positive) / 2)), max(max(positive), cap or 0) * 4)
    _separators(ax, groups)
    if cap:
        runs = _groups([r.get("cap", cap) == cap for r in ordered])
        segments = [(start, stop) for applies, start, stop in runs if applies]
        for start, stop in segments:
            ax.hlines(cap, start - 0.5, stop - 0.5, colors=CAP_COLOUR, linestyles="--", linewidth=1.2,
                      label="cap", zorder=3)
        if segments:
            ax.annotate(f"cap K = {cap:,.0f}", xy=(segments[-1][1] - 0.5, cap), xytext=(-2, 3),
                        textcoords="offset points", ha="right", va="bottom", fontsize=10, color=CAP_COLOUR)
    ax.set_ylabel("train examples\n(log scale)")
    ax.tick_params(axis="x", labelbottom=False, length=0)
    ax.grid(axis="y", alpha=0.3, which="major")
    if any(s > c for s, c in zip(sizes, counted, strict=True)):
        ax.text(0.995, 0.98, "pale: examples above the cap (not counted)", transform=ax.transAxes, ha="right",
                va="top", fontsize=8.5, color="#333333")


def _draw_rates(ax: Any, ordered: list[Mapping[str, Any]], colour_of: list[str],
                groups: list[tuple[str, int, int]]) -> None:
    from matplotlib.ticker import FuncFormatter

    num = len(ordered)
    x = list(range(num))
    ax.bar(x, [100 * float(r["rate"]) for r in ordered], width=0.82, color=colour_of, linewidth=0)
    _separators(ax, groups)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}%"))
    ax.set_ylabel("sampling rate\n(% of all examples)")
    ax.grid(axis="y", alpha=0.3)
    names = [str(r["task"]) for r in ordered]
    prefix = _common_namespace(names)
    ax.set_xticks(x, [n[len(prefix):] for n in names], rotation=90 if num > 24 else 40,
                  ha="center" if num > 24 else "right", rotation_mode="anchor" if num <= 24 else "default",
                  fontsize=7 if num > 80 else 8 if num > 40 else 10)
    ax.tick_params(axis="x", length=0, pad=2)
    ax.set_xlim(-0.5, max(num, 1) - 0.5)
    what = f"{prefix}* tasks" if prefix else "tasks"
    ax.set_xlabel(f"{num} supervised {what}, grouped by family (largest total rate first), by size within a family")
    if not num:
        ax.text(0.5, 0.5, "no supervised tasks", transform=ax.transAxes, ha="center", va="center", color="grey")


def _draw_share(ax: Any, apart: list[Mapping[str, Any]], supervised: list[Mapping[str, Any]],
                families: list[str], colours: Mapping[str, str]) -> None:
    bottom = 0.0
    for r in apart:
        height = 100 * float(r["rate"])
        ax.bar(0, height, bottom=bottom, width=0.7, color=SELF_SUPERVISED_COLOUR, hatch="//", edgecolor="white",
               linewidth=0)
        if height >= 6:
            ax.text(0, bottom + height / 2, f"{r['task']}\nself-supervised {height:.1f}%", ha="center",
                    va="center", color="white", fontsize=10, rotation=90 if height > 25 else 0,
                    bbox={"facecolor": SELF_SUPERVISED_COLOUR, "edgecolor": "none", "pad": 2})
        bottom += height
    start = bottom
    for family in families:
        height = 100 * sum(float(r["rate"]) for r in supervised if str(r.get("family") or "(none)") == family)
        ax.bar(0, height, bottom=bottom, width=0.7, color=colours[family], edgecolor="white", linewidth=0.4)
        if height >= 3.5:
            ax.text(0, bottom + height / 2, f"{height:.1f}%", ha="center", va="center", fontsize=9,
                    color=_ink(colours[family]))
        bottom += height
    if apart and supervised:
        ax.annotate("", xy=(0.42, start), xytext=(0.42, bottom), arrowprops={"arrowstyle": "-", "linewidth": 1.0})
        ax.text(0.47, (start + bottom) / 2, f"supervised\n{bottom - start:.1f}%", ha="left", va="center", fontsize=10)
    ax.set_xlim(-0.4, 1.3 if apart and supervised else 0.4)
    ax.set_ylim(0, 100)
    ax.set_axis_off()
    ax.set_title("share of all examples" if apart else "share per family", fontsize=10)


def _common_namespace(names: list[str]) -> str:
    """``"ns/"`` when every name is in namespace ``ns`` (dropped from the tick labels), else ``""``."""
    spaces = {n.split("/", 1)[0] + "/" for n in names if "/" in n}
    return spaces.pop() if len(spaces) == 1 and all("/" in n for n in names) else ""


__all__ = ["FAMILY_PALETTE", "PALETTE_NAME", "capped_size", "family_colours", "family_order", "is_self_supervised",
           "plot_rates", "rows_from_manifest"]
