"""The affinity part of the report: the strongest transfer edges and the gain heatmap of a results table.

Uses ``mixlab.affinity`` (``transfer_graph``, ``plot_transfer``, ``node_scores``); a missing or
invalid table makes the part a note. The part says where the table came from, and says plainly when
it is ExT5's Table 2 (the paper's published co-training results, recognised by its 16 baseline
scores), since those numbers describe the paper's experiment, not this run.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import networkx as nx

from mixlab import affinity
from mixlab.errors import MixlabError
from mixlab.report import figures
from mixlab.report.html import code_note, esc, figure, note, table
from mixlab.run_folder import RunFolder

SCORE_COLUMNS = ("average_gain", "in_strength", "out_strength", "sensitivity")
#: ExT5 Table 2's intra-family baselines (node -> (data-100k, compute-200k)): the table's fingerprint
EXT5_TABLE2_BASELINES = {
    "CBQA": (14.68, 19.98), "CLS": (77.14, 77.47), "CMNS": (68.24, 68.35), "DLG": (38.56, 39.76),
    "NLI": (64.91, 67.23), "RC": (62.94, 65.60), "SEM": (72.09, 72.79), "SUM": (27.89, 29.36),
}
PAPER_NOTE = ("This is ExT5's Table 2, the co-training transfer results published in the paper (Aribandi et al., "
              "ICLR 2022: 8 task families, each co-trained with every other), not results measured by this run. "
              "The figure and the scores below describe the paper's experiment.")


def is_ext5_table2(graph: nx.DiGraph) -> bool:
    """Whether ``graph`` holds ExT5 Table 2's nodes with its baseline scores (to 0.01) at both budgets."""
    if sorted(graph.nodes) != sorted(EXT5_TABLE2_BASELINES):
        return False
    for node, expected in EXT5_TABLE2_BASELINES.items():
        baseline = graph.nodes[node].get("baseline") or {}
        found = (baseline.get("data-100k"), baseline.get("compute-200k"))
        if not all(isinstance(v, int | float) and math.isclose(v, e, abs_tol=0.005) for v, e in zip(found, expected,
                                                                                                     strict=True)):
            return False
    return True


def affinity_part(report: Any) -> str:
    """The affinity part of the page (``SECTIONS`` entry): :func:`affinity_section` with the table's origin."""
    path = report.affinity
    in_run = path is not None and Path(path).resolve() == RunFolder(report.run.path).affinity.resolve()
    return affinity_section(path, origin="the run folder's affinity.csv" if in_run else "given with --affinity")


def affinity_section(results: Path | None, *, origin: str = "") -> str:
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
    paper = is_ext5_table2(graph)
    rows = [(node, *(_fmt(scores[node].get(c)) for c in SCORE_COLUMNS)) for node in sorted(scores)]
    where = f" ({esc(origin)})" if origin else ""
    kind = "ExT5 Table 2 (the paper's results)" if paper else "transfer results table"
    return "\n".join([
        f'<p class="info" id="affinity-source"><strong>Source:</strong> {esc(kind)}, read from '
        f"<code>{esc(results)}</code>{where}. " + (esc(PAPER_NOTE) if paper else
                                                   "The report shows this table as given; it does not check which "
                                                   "run produced it.") + "</p>",
        f"<p>{graph.number_of_nodes()} nodes, {affinity.num_relations(graph)} transfer edges; gains relative to "
        f"baseline budget <code>{esc(budget)}</code>.</p>",
        figure(uri, "strongest transfer edges and gain heatmap",
               ("ExT5 Table 2 (paper). " if paper else "")
               + "Left: the strongest transfer edges (their number and cut-off are in the panel title; blue helps, "
               "red hurts, width ~ |gain|). Right: gain of each target (column) when co-trained with each source "
               "(row), relative to the target's own baseline; colours are clipped at the 95th percentile of |gain| "
               "and cells beyond it are outlined.", full=True),
        "<h3>Node scores</h3>",
        table(("node", *SCORE_COLUMNS), rows, numeric=(1, 2, 3, 4), table_id="affinity-scores"),
    ])


def _fmt(value) -> str:
    return "–" if value is None or value != value else f"{value:+.3f}"
