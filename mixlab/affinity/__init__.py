"""Task affinity: which tasks help which, as a graph, and the mixture it suggests.

::

    results table (source, target, score, budget)      per-task batches + tiny T5
          | transfer_graph()                                 | gradient_affinity()  (TAG)
          v                                                  v
        networkx.DiGraph  (nodes: baselines per budget; edges: score, gain per budget)
          |-> negative_transfer(), average_gain(), sensitivity(), in/out_strength()
          |-> group_nodes()          partition maximising within-group gain
          |-> propose_mixture()      ExT5 best-effort / graded -> mixlab.Mixture
          |-> compare(a, b)          Spearman / Kendall of edge gains
          |-> InfluenceMatrix        one labelled matrix for co-training, TAG, mixing laws, regressions,
          |                          with provenance and bootstrap intervals (plot_influence, save/load)
          '-> plot_transfer(), write_graphml()

>>> from mixlab import affinity
>>> g = affinity.transfer_graph("/work/shared/exmix/table2_cotraining.csv")  # doctest: +SKIP
"""

from __future__ import annotations

from mixlab.affinity.compare import RankCorrelation, compare
from mixlab.affinity.gradient import gradient_affinity, tiny_t5
from mixlab.affinity.graph import gain_matrix, score_matrix, transfer_graph, write_graphml
from mixlab.affinity.grouping import Grouping, group_nodes, group_score
from mixlab.affinity.influence import InfluenceMatrix, Provenance, read_transfer
from mixlab.affinity.influence_plot import plot_influence
from mixlab.affinity.plot import plot_transfer
from mixlab.affinity.propose import propose_mixture, rank_sources
from mixlab.affinity.results import Row, TransferResult, read_results
from mixlab.affinity.scores import (
    average_gain,
    in_strength,
    negative_transfer,
    node_scores,
    num_relations,
    out_strength,
    sensitivity,
)
from mixlab.affinity.summary import summarize

__all__ = [
    "Grouping", "InfluenceMatrix", "Provenance", "RankCorrelation", "Row", "TransferResult", "average_gain",
    "compare", "gain_matrix", "gradient_affinity", "group_nodes", "group_score", "in_strength", "negative_transfer",
    "node_scores", "num_relations", "out_strength", "plot_influence", "plot_transfer", "propose_mixture",
    "rank_sources", "read_results", "read_transfer", "score_matrix", "sensitivity", "summarize", "tiny_t5",
    "transfer_graph", "write_graphml",
]
