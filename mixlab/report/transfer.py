"""The affinity part of the report: the transfer graph and gain heatmap of a results table.

Uses ``mixlab.affinity`` (``transfer_graph``, ``plot_transfer``, ``node_scores``); a missing or
invalid table makes the part a note.
"""

from __future__ import annotations

from pathlib import Path

from mixlab import affinity
from mixlab.errors import MixlabError
from mixlab.report import figures
from mixlab.report.html import code_note, esc, figure, note, table

SCORE_COLUMNS = ("average_gain", "in_strength", "out_strength", "sensitivity")


def affinity_section(results: Path | None) -> str:
    """HTML for ``results`` (a CSV with source, target, score, budget), or a note saying why not."""
    if results is None:
        return note("Affinity not available: no results table (give --affinity RESULTS.csv, "
                    "or put affinity.csv in the run folder).")
    if not results.is_file():
        return note(f"Affinity not available: {results} does not exist.")
    try:
        graph = affinity.transfer_graph(str(results))
        uri = figures.to_data_uri(affinity.plot_transfer(graph))
        scores = affinity.node_scores(graph)
    except MixlabError as exc:  # an invalid table is the user's input: show the message, do not fail the report
        return code_note(f"Affinity not available: {results.name} is not a valid results table:", str(exc))
    budget = graph.graph.get("baseline", "")
    rows = [(node, *(_fmt(scores[node].get(c)) for c in SCORE_COLUMNS)) for node in sorted(scores)]
    return "\n".join([
        f"<p>From <code>{esc(results)}</code>: {graph.number_of_nodes()} nodes, "
        f"{affinity.num_relations(graph)} transfer edges; gains relative to baseline "
        f"budget <code>{esc(budget)}</code>.</p>",
        figure(uri, "transfer graph and gain heatmap",
               "Left: transfer graph (green helps, red hurts, width = |gain|). Right: gain of each target "
               "when co-trained with each source, relative to the target's own baseline."),
        "<h3>Node scores</h3>",
        table(("node", *SCORE_COLUMNS), rows, numeric=(1, 2, 3, 4), table_id="affinity-scores"),
    ])


def _fmt(value) -> str:
    return "–" if value is None or value != value else f"{value:+.3f}"
