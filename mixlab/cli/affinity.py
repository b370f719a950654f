"""``mixlab affinity``: scores, negative transfer and groups of a task-transfer results table."""

from __future__ import annotations

import argparse
import json


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", metavar="RESULTS.csv",
                        help="long-form table with columns source,target,score,budget")
    parser.add_argument("--baseline", metavar="BUDGET",
                        help="baseline budget gains are measured against (default: the first in the table)")
    parser.add_argument("--groups", metavar="K", type=int, default=2,
                        help="number of groups to partition the nodes into (default 2; 0 = free, penalty-less)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary instead of a table")
    parser.add_argument("--plot", metavar="PATH", help="write a PNG: transfer graph beside the gain heatmap")
    parser.add_argument("--graphml", metavar="PATH", help="write the graph as GraphML")


def run(args: argparse.Namespace) -> int:
    from mixlab.affinity import plot_transfer, summarize, transfer_graph, write_graphml
    from mixlab.affinity.graph import resolve_budget
    from mixlab.affinity.summary import format_summary

    graph = transfer_graph(args.results)
    budget = resolve_budget(graph, args.baseline)
    summary = summarize(graph, budget=budget, num_groups=args.groups or None)
    if args.plot:
        plot_transfer(graph, args.plot, budget=budget)
    if args.graphml:
        write_graphml(graph, args.graphml)
    print(json.dumps(summary, indent=1) if args.json else format_summary(graph, summary))
    return 0
