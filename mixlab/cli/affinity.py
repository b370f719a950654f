"""``mixlab affinity``: scores, negative transfer and groups of a task-transfer results table."""

from __future__ import annotations

import argparse
import json

from mixlab.cli._output import figure_suffixes, output_path, writing, wrote
from mixlab.errors import ConfigError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", metavar="RESULTS.csv",
                        help="long-form table with columns source,target,score,budget, or an influence matrix "
                             "(.json, or .csv with a value column; mixlab.affinity.InfluenceMatrix.save)")
    parser.add_argument("--baseline", metavar="BUDGET",
                        help="baseline budget gains are measured against (default: the first in the table)")
    parser.add_argument("--groups", metavar="K", type=int, default=2,
                        help="number of groups to partition the tasks into (default 2); 0 lets the grouping "
                             "choose how many (the best partition over any number of groups)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary instead of a table")
    parser.add_argument("--plot", metavar="PATH", help="write a figure: transfer graph beside the gain heatmap "
                        "(.png added to a name without a suffix); prints `wrote PATH`")
    parser.add_argument("--graphml", metavar="PATH", help="write the graph as GraphML; prints `wrote PATH`")


def run(args: argparse.Namespace) -> int:
    from mixlab.affinity import plot_influence, plot_transfer, read_transfer, summarize, write_graphml
    from mixlab.affinity.graph import resolve_budget
    from mixlab.affinity.summary import format_summary

    plot = output_path(args.plot, "--plot", suffixes=figure_suffixes(), example="affinity") if args.plot else None
    graphml = output_path(args.graphml, "--graphml", example="affinity.graphml") if args.graphml else None
    graph, matrix = read_transfer(args.results)  # a co-training table, or an influence matrix of any kind
    num_nodes = graph.number_of_nodes()
    if not 0 <= args.groups <= num_nodes:  # the library's message offers k=None, which is 0 here
        raise ConfigError(f"--groups {args.groups}: k={args.groups} groups is impossible for {num_nodes} nodes; "
                          f"fix: choose 1 <= K <= {num_nodes}, or 0 to let the grouping choose how many")
    budget = resolve_budget(graph, args.baseline)
    summary = summarize(graph, budget=budget, num_groups=args.groups or None)
    if matrix is not None:
        summary["provenance"] = matrix.provenance.model_dump()
    written = []
    if plot is not None:
        with writing(plot, "--plot"):
            if matrix is not None and matrix.has_intervals:  # the heatmap with intervals, and a forest plot
                written.append(plot_influence(matrix, plot))
            else:
                written.append(plot_transfer(graph, plot, budget=budget))
    if graphml is not None:
        with writing(graphml, "--graphml"):
            write_graphml(graph, str(graphml))
        written.append(graphml)
    print(json.dumps(summary, indent=1) if args.json else format_summary(graph, summary))
    for path in written:
        wrote(path, args.json)
    return 0
