"""One plain-data summary of a transfer graph (what ``mixlab affinity --json`` prints) and its text table."""

from __future__ import annotations

from typing import Any

import networkx as nx

from mixlab.affinity.graph import nodes, resolve_budget
from mixlab.affinity.grouping import group_nodes
from mixlab.affinity.scores import average_gain, negative_transfer, node_scores, num_relations


def summarize(graph: nx.DiGraph, *, budget: str | None = None, num_groups: int | None = 2,
              penalty: float = 0.0, digits: int = 3) -> dict[str, Any]:
    """``{"nodes", "baseline", "average_gain" (percent), "negative_transfer" ({budget: count}),
    "relations", "groups"}``; groups come from :func:`group_nodes` at ``budget``."""
    budget = resolve_budget(graph, budget)
    names = nodes(graph)
    grouping = group_nodes(graph, num_groups or None, budget=budget, penalty=penalty)
    return {
        "nodes": names,
        "baseline": budget,
        "average_gain": {n: round(v, digits) for n, v in average_gain(graph).items()},
        "negative_transfer": {b: len(pairs) for b, pairs in negative_transfer(graph).items()},
        "relations": num_relations(graph),
        "groups": [list(g) for g in grouping.groups],
    }


def format_summary(graph: nx.DiGraph, summary: dict[str, Any]) -> str:
    """A readable report: per-node scores, negative-transfer counts and groups."""
    budget = summary["baseline"]
    table = node_scores(graph, budget)
    header = ("node", "avg gain %", "in strength", "out strength", "sensitivity")
    rows = [(n, f"{s['average_gain']:+.2f}", f"{s['in_strength']:+.4f}", f"{s['out_strength']:+.4f}",
             f"{s['sensitivity']:.4f}") for n, s in table.items()]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells):
        pairs = enumerate(zip(cells, widths, strict=True))
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in pairs)

    out = [_scores_caption(graph, budget), line(header), line(["-" * w for w in widths]), *map(line, rows), ""]
    relations = summary["relations"]
    for b, count in summary["negative_transfer"].items():
        out.append(f"negative transfer at {b!r}: {count} of {relations} relations")
    out.append("groups: " + " | ".join(", ".join(g) for g in summary["groups"]))
    return "\n".join(out)


def _scores_caption(graph: nx.DiGraph, budget: str) -> str:
    """What the table's gains are: relative to a baseline (co-training, ExT5 Table 2's average gain), or a
    gradient or influence graph's own values (its average gain is their plain mean, see ``average_gain``)."""
    kind = graph.graph.get("kind")
    if kind in ("gradient", "influence"):
        return (f"gains are the {kind} values at {budget!r} (strengths, sensitivity); "
                f"avg gain = 100 x the mean value over the source's targets")
    return (f"gains relative to the target's baseline at {budget!r} (strengths, sensitivity); "
            f"avg gain as in ExT5 Table 2")
