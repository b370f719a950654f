"""One influence matrix: how much training on a source task changes a target task, from any measurement.

Co-training gains, TAG gradient affinities, the ``t_ij`` of a fitted mixing law and a regression's
partial dependences all answer "does training on j help i?". :class:`InfluenceMatrix` holds any of
them with the same orientation and sign, provenance, and optional bootstrap confidence intervals:

::

    co-training tables (one per seed) --from_cotraining--+
    TAG graphs (one per seed)        --from_tag----------+
    MixtureRegression(kind="mixing_law") --from_mixing_law--+--> InfluenceMatrix --to_graph()--> scores,
    MixtureRegression (any kind)     --from_regression---+      values[source, target]          groups,
    any transfer graph               --from_graph--------+      lower / upper, provenance       propose_mixture
                                                                  |-> save(.json | .csv) / load()  (mixlab affinity)
                                                                  '-> plot_influence()  (intervals drawn)

``values[s, t] > 0`` always means "training on s helps t": a relative gain over the target's baseline
(co-training), ``Z = 1 - L_after / L_before`` (TAG), ``-t`` (the law, centred over sources), or the
relative loss drop per unit weight moved onto s (partial dependence). Intervals are percentile
bootstraps: over seeds (co-training, TAG: the mean over resampled seeds) or over proxy runs (the law,
regressions: refits on resampled runs).

>>> rows = [{"source": n, "target": n, "score": 10, "budget": "alone"} for n in "AB"]
>>> seeds = {s: rows + [{"source": "A", "target": "B", "score": 11 + s, "budget": "co"},
...                     {"source": "B", "target": "A", "score": 9, "budget": "co"}] for s in range(3)}
>>> m = InfluenceMatrix.from_cotraining(seeds, num_bootstrap=200, seed=0)
>>> round(m.value("A", "B"), 3), [round(x, 3) for x in m.interval("A", "B")], m.provenance.kind
(0.2, [0.133, 0.267], 'cotrain')
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
from pydantic import BaseModel, Field, field_validator

from mixlab._spec import Spec
from mixlab.affinity.graph import gain_matrix, resolve_budget, transfer_graph
from mixlab.affinity.influence_io import is_influence_file, load_influence, save_influence
from mixlab.errors import DataError

KINDS = ("cotrain", "tag", "mixing_law", "regression")
_GRAPH_KINDS = {"cotraining": "cotrain", "gradient": "tag"}


class Provenance(Spec):
    """Where an influence matrix came from: which runs, which metric, which baseline, how its intervals were made."""

    spec_kind = "influence provenance"
    spec_error = DataError

    kind: str = Field(description=f"one of {', '.join(KINDS)}")
    metric: str = Field(description="what a value measures, sign included")
    baseline: str | None = Field(default=None, description="what gains are relative to")
    runs: list[str] = Field(default_factory=list, description="the runs, files or seeds measured")
    interval: str | None = Field(default=None, description="how the intervals were computed")

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; choose one of {list(KINDS)}")
        return kind


@dataclass(frozen=True, kw_only=True, eq=False)
class InfluenceMatrix:
    """``values[s, t]``: influence of source ``sources[s]`` on target ``targets[t]`` (positive helps); NaN
    where unmeasured. ``lower``/``upper``: a ``level`` confidence interval per cell, or ``None``."""

    sources: tuple[str, ...]
    targets: tuple[str, ...]
    values: np.ndarray
    provenance: Provenance
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    level: float | None = None

    def __post_init__(self) -> None:
        shape = (len(self.sources), len(self.targets))
        if np.shape(self.values) != shape:
            raise DataError(f"influence values have shape {np.shape(self.values)}, expected {shape} "
                            f"(sources x targets)")
        if (self.lower is None) != (self.upper is None) or (self.lower is not None and self.level is None):
            raise DataError("give lower, upper and level together, or none of them")
        for name, bound in (("lower", self.lower), ("upper", self.upper)):
            if bound is not None and np.shape(bound) != shape:
                raise DataError(f"influence {name} has shape {np.shape(bound)}, expected {shape}")
        if self.level is not None and not 0 < self.level < 1:
            raise DataError(f"level={self.level} must lie in (0, 1), e.g. 0.9")

    def __repr__(self) -> str:
        ci = f", {self.level:.0%} intervals" if self.level is not None else ""
        return (f"InfluenceMatrix({self.provenance.kind}: {len(self.sources)} sources x {len(self.targets)} "
                f"targets, {self.provenance.metric}{ci})")

    @property
    def has_intervals(self) -> bool:
        return self.lower is not None

    def _cell(self, source: str, target: str) -> tuple[int, int]:
        for name, given, names in (("source", source, self.sources), ("target", target, self.targets)):
            if given not in names:
                raise DataError(f"unknown {name} {given!r}; choose from {list(names)}")
        return self.sources.index(source), self.targets.index(target)

    def value(self, source: str, target: str) -> float:
        return float(self.values[self._cell(source, target)])

    def interval(self, source: str, target: str) -> tuple[float, float] | None:
        if self.lower is None or self.upper is None:
            return None
        cell = self._cell(source, target)
        return float(self.lower[cell]), float(self.upper[cell])

    def significant(self) -> np.ndarray:
        """Cells whose interval excludes 0 (all finite cells when there are no intervals)."""
        if self.lower is None or self.upper is None:
            return np.isfinite(self.values)
        return (self.lower > 0) | (self.upper < 0)

    # ----------------------------------------------------------------- the transfer graph
    @property
    def label(self) -> str:
        """The graph's one budget: the baseline if there is one, else the kind."""
        return self.provenance.baseline or self.provenance.kind

    def to_graph(self) -> nx.DiGraph:
        """The transfer-graph layout (:mod:`mixlab.affinity.graph`) every score, grouping and proposal takes:
        ``kind="influence"``, one budget (:attr:`label`), edge ``score`` = ``gain[label]`` = the value (plus
        ``lower``/``upper``), node ``self_influence`` from the diagonal. Nodes: sources and targets."""
        label = self.label
        graph: nx.DiGraph = nx.DiGraph(kind="influence", influence_kind=self.provenance.kind, budgets=[label],
                                       baseline=label, metric=self.provenance.metric)
        if self.level is not None:
            graph.graph["level"] = self.level
        for node in sorted(set(self.sources) | set(self.targets)):
            graph.add_node(node, baseline={})
        for s, source in enumerate(self.sources):
            for t, target in enumerate(self.targets):
                value = float(self.values[s, t])
                if not np.isfinite(value):
                    continue
                if source == target:
                    graph.nodes[source]["self_influence"] = value
                    continue
                extra = {} if self.lower is None or self.upper is None else \
                    {"lower": float(self.lower[s, t]), "upper": float(self.upper[s, t])}
                graph.add_edge(source, target, score=value, gain={label: value}, **extra)
        return graph

    @classmethod
    def from_graph(cls, graph: nx.DiGraph, *, budget: str | None = None, runs: Sequence[str] = ()) -> InfluenceMatrix:
        """Any transfer graph's gains at ``budget`` (co-training, TAG, or an influence graph), no intervals."""
        budget = resolve_budget(graph, budget)
        names, gains = gain_matrix(graph, budget)
        for i, name in enumerate(names):
            own = graph.nodes[name].get("self_influence", graph.nodes[name].get("self_affinity"))
            if own is not None:
                gains[i, i] = own
        kind = graph.graph.get("influence_kind") or _GRAPH_KINDS.get(graph.graph.get("kind", ""), "cotrain")
        metric = graph.graph.get("metric") or _metric(kind, budget)
        baseline = budget if kind == "cotrain" else None
        return cls(sources=tuple(names), targets=tuple(names), values=gains,
                   provenance=Provenance(kind=kind, metric=metric, baseline=baseline, runs=list(runs)))

    # ----------------------------------------------------------------- constructors
    @classmethod
    def from_cotraining(cls, results: Any, *, budget: str | None = None, num_bootstrap: int = 1000,
                        level: float = 0.9, seed: int = 0) -> InfluenceMatrix:
        """Relative gains over the target's baseline at ``budget`` from co-training results.

        ``results``: one table (CSV path, rows, or a transfer graph), or several, one per seed: a mapping
        ``{seed label: table}`` or a list of tables. With several, values are the mean over seeds and
        intervals a percentile bootstrap of that mean over resampled seeds.
        """
        tables = _tables(results)
        graphs = {label: t if isinstance(t, nx.DiGraph) else transfer_graph(t) for label, t in tables.items()}
        return _from_graphs(graphs, "cotrain", budget, num_bootstrap, level, seed)

    @classmethod
    def from_tag(cls, graphs: nx.DiGraph | Sequence[nx.DiGraph] | Mapping[str, nx.DiGraph], *,
                 num_bootstrap: int = 1000, level: float = 0.9, seed: int = 0) -> InfluenceMatrix:
        """TAG affinities ``Z`` (:func:`~mixlab.affinity.gradient_affinity`), one graph or one per seed
        (intervals: bootstrap of the mean over seeds); the diagonal holds ``Z(i -> i)``."""
        if isinstance(graphs, nx.DiGraph):
            graphs = [graphs]
        named = dict(graphs) if isinstance(graphs, Mapping) else {f"seed {k}": g for k, g in enumerate(graphs)}
        return _from_graphs(named, "tag", "tag", num_bootstrap, level, seed)

    @classmethod
    def from_mixing_law(cls, regression: Any, *, num_bootstrap: int = 0, level: float = 0.9, seed: int | None = None,
                        target_names: Mapping[str, str] | None = None) -> InfluenceMatrix:
        """``-t`` of a fitted :class:`~mixlab.search.MixtureRegression` of kind ``mixing_law`` (centred over
        sources: positive means more of the source lowers the target's loss more than the average source
        does). ``num_bootstrap`` refits on resampled runs give intervals."""
        def statistic(model: Any) -> np.ndarray:
            laws = model.mixing_laws()
            return -np.column_stack([laws[t].t for t in model.targets])

        provenance = dict(kind="mixing_law", baseline="mean over sources",
                          metric="-t_ij of L_i = c_i + k_i exp(sum_j t_ij r_j), centred over sources (positive helps)")
        return _from_regression(cls, regression, statistic, provenance, num_bootstrap, level, seed, target_names)

    @classmethod
    def from_regression(cls, regression: Any, *, step: float = 0.1, num_bootstrap: int = 0, level: float = 0.9,
                        seed: int | None = None, target_names: Mapping[str, str] | None = None) -> InfluenceMatrix:
        """Partial dependences of a fitted :class:`~mixlab.search.MixtureRegression` (any kind): the relative
        loss drop of each target per unit weight moved onto each source, averaged over the fitted runs."""
        def statistic(model: Any) -> np.ndarray:
            return np.asarray(model.partial_dependence(step=step))

        provenance = dict(kind="regression", baseline="the fitted runs' mixtures",
                          metric=f"relative loss drop per unit weight moved onto the source ({regression.kind} "
                                 f"partial dependence, step {step:g}; positive helps)")
        return _from_regression(cls, regression, statistic, provenance, num_bootstrap, level, seed, target_names)

    # ----------------------------------------------------------------- files
    def save(self, path: str | os.PathLike) -> os.PathLike:
        """Write ``.json`` (matrix, intervals, provenance) or ``.csv`` (one row per cell): the formats of
        :mod:`mixlab.affinity.influence_io`, which ``mixlab affinity`` reads."""
        return save_influence(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> InfluenceMatrix:
        """Read a matrix written by :meth:`save`."""
        parts = load_influence(path)
        return cls(**(parts | {"provenance": Provenance(**parts["provenance"])}))


def read_transfer(path: str | os.PathLike) -> tuple[nx.DiGraph, InfluenceMatrix | None]:
    """The transfer graph of any file ``mixlab affinity`` reads (a co-training CSV, or an influence matrix as
    ``.json`` or a CSV with a ``value`` column), and the matrix when it is one."""
    if is_influence_file(path):
        matrix = InfluenceMatrix.load(path)
        return matrix.to_graph(), matrix
    return transfer_graph(os.fspath(path)), None


def _metric(kind: str, budget: str | None) -> str:
    return {"cotrain": f"relative gain of the target's score over its baseline at {budget!r} (positive helps)",
            "tag": "TAG affinity Z = 1 - L_target(after a step on the source) / L_target(before) (positive helps)",
            }.get(kind, "influence (positive helps)")


def _tables(results: Any) -> dict[str, Any]:
    """Per-seed tables: one table (path, graph, or rows of dicts/records) -> ``{"all": it}``."""
    if isinstance(results, str | os.PathLike | nx.DiGraph):
        return {"all": results}
    if isinstance(results, Mapping):
        if {"source", "target"} <= set(results):
            raise DataError("from_cotraining got one row, not a table; give a list of rows or {seed: table}")
        return {str(k): v for k, v in results.items()}
    items = list(results)
    if not items:
        raise DataError("from_cotraining got no results; give a table or one table per seed")
    if isinstance(items[0], Mapping | BaseModel):
        return {"all": items}
    return {f"seed {k}": item for k, item in enumerate(items)}


def _bootstrap(stack: np.ndarray, num: int, level: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of the mean over the first axis, resampled with replacement ``num`` times."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(stack), (num, len(stack)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an unmeasured cell is NaN in every resample
        means = np.nanmean(stack[picks], axis=1)
        low, high = np.nanpercentile(means, [50 * (1 - level), 50 * (1 + level)], axis=0)
    return low, high


def _from_graphs(graphs: Mapping[str, nx.DiGraph], kind: str, budget: str | None, num_bootstrap: int,
                 level: float, seed: int) -> InfluenceMatrix:
    matrices = {label: InfluenceMatrix.from_graph(g, budget=budget) for label, g in graphs.items()}
    first_label, first = next(iter(matrices.items()))
    for label, matrix in matrices.items():
        if matrix.sources != first.sources:
            raise DataError(f"{kind} results {label!r} have nodes {list(matrix.sources)} but {first_label!r} has "
                            f"{list(first.sources)}; every seed must measure the same tasks")
    stack = np.stack([m.values for m in matrices.values()])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cells stay NaN
        values = np.nanmean(stack, axis=0)
    used_budget = budget if kind == "tag" else resolve_budget(next(iter(graphs.values())), budget)
    interval = lower = upper = None
    if len(stack) > 1 and num_bootstrap > 0:
        lower, upper = _bootstrap(stack, num_bootstrap, level, seed)
        interval = f"percentile bootstrap of the mean over {len(stack)} seeds ({num_bootstrap} resamples, seed {seed})"
    provenance = Provenance(kind=kind, metric=_metric(kind, used_budget), runs=list(matrices),
                            baseline=used_budget if kind == "cotrain" else None, interval=interval)
    return InfluenceMatrix(sources=first.sources, targets=first.targets, values=values, provenance=provenance,
                           lower=lower, upper=upper, level=level if lower is not None else None)


def _target_node(target: str, sources: Sequence[str], target_names: Mapping[str, str] | None) -> str:
    """A regression target's node: ``target_names[target]``, else the target if it is a source, else the part
    after its last ``:`` if that is a source (``loss:wordnet/pos`` -> ``wordnet/pos``), else the target."""
    if target_names and target in target_names:
        return target_names[target]
    tail = target.rsplit(":", 1)[-1]
    return target if target in sources or tail not in sources else tail


def _from_regression(cls: type[InfluenceMatrix], regression: Any, statistic: Any, provenance: dict[str, Any],
                     num_bootstrap: int, level: float, seed: int | None,
                     target_names: Mapping[str, str] | None) -> InfluenceMatrix:
    sources = tuple(regression.names)
    targets = tuple(_target_node(t, sources, target_names) for t in regression.targets)
    if len(set(targets)) != len(targets):
        raise DataError(f"targets {list(regression.targets)} map to repeated nodes {list(targets)}; "
                        f"give target_names={{target: node}}")
    values = statistic(regression)
    lower = upper = None
    runs = [f"{regression.num_runs} proxy runs"]
    if num_bootstrap > 0:
        stack = regression.bootstrap(statistic, num=num_bootstrap, seed=seed)
        lower, upper = np.percentile(stack, [50 * (1 - level), 50 * (1 + level)], axis=0)
        provenance["interval"] = (f"percentile bootstrap over runs ({num_bootstrap} refits on resampled runs, "
                                  f"seed {regression.seed if seed is None else seed})")
    return cls(sources=sources, targets=targets, values=values, provenance=Provenance(runs=runs, **provenance),
               lower=lower, upper=upper, level=level if lower is not None else None)
