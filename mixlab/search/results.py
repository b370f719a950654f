"""Read a sweep's results table (CSV, TSV, Parquet or SQLite) and split it into weight and target columns.

Which columns are weights, in order of precedence:

1. ``weights=``: explicit column names (``--weights a,b,c``);
2. ``prefix=`` (default ``weight:``): every column whose name starts with it, the prefix dropped
   (``weight:wordnet/pos`` -> ``wordnet/pos``);
3. otherwise every numeric column that is not a target and not ``ignore``-d, if those columns'
   rows sum to 1 (a published sweep that lists only domain shares and losses).

Rows whose target is empty (runs that failed or have not finished) are dropped and counted.

>>> import pandas as pd
>>> frame = pd.DataFrame({"run": ["a", "b"], "weight:x": [0.25, 1.0], "weight:y": [0.75, 0.0], "loss": [2.0, None]})
>>> split = split_columns(frame, ["loss"])
>>> list(split.weights.columns), split.losses["loss"].tolist(), split.num_dropped
(['x', 'y'], [2.0], 1)
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mixlab.errors import DataError
from mixlab.search.table import import_extra

PREFIX = "weight:"
#: the tables of an experiment runner's results.sqlite
RUNNER_TABLES = {"runs", "metrics", "meta"}
SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet", ".sqlite": "sqlite",
            ".sqlite3": "sqlite", ".db": "sqlite"}


@dataclass(frozen=True, kw_only=True)
class Split:
    """``weights`` (columns renamed to task or family names), ``losses`` (target columns), ``how`` the weight
    columns were chosen, and how many rows were dropped for an empty target."""

    weights: Any
    losses: Any
    how: str
    num_dropped: int


def read_table(path: str | os.PathLike, *, table: str | None = None, query: str | None = None) -> Any:
    """A pandas DataFrame of ``path``; for SQLite, ``query`` or ``table`` (default: the only table; an experiment's
    ``results.sqlite`` reads as :func:`runner_frame`)."""
    pandas = import_extra("pandas", "reading a results table")
    path = Path(path)
    if not path.is_file():
        raise DataError(f"results table {str(path)!r} does not exist")
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise DataError(f"results table {str(path)!r}: unknown format; use one of {sorted(SUFFIXES)}")
    if kind in ("csv", "tsv"):
        return pandas.read_csv(path, sep="\t" if kind == "tsv" else ",")
    if kind == "parquet":
        return pandas.read_parquet(path)
    with closing(sqlite3.connect(path)) as db:
        if query is None:
            tables = [row[0] for row in db.execute("select name from sqlite_master where type in ('table', 'view')")]
            if table is None and set(tables) >= RUNNER_TABLES:
                return runner_frame(pandas, db)
            if table is None:
                if len(tables) != 1:
                    raise DataError(f"results table {str(path)!r} holds tables {tables}; choose one with --table "
                                    f"(or give a --query that selects weight and target columns)")
                table = tables[0]
            if table not in tables:
                raise DataError(f"results table {str(path)!r} has no table {table!r}; it has {tables}")
            query = f'select * from "{table}"'
        return pandas.read_sql_query(query, db)


def runner_frame(pandas: Any, db: sqlite3.Connection) -> Any:
    """The experiment runner's ``results.sqlite`` (:mod:`mixlab.experiments.results`) as one row per finished
    proxy eval run whose labels hold group ``weights`` (the ``regmix`` protocol's): ``key``, ``seed``,
    ``weight:<group>``, each overall metric, ``<metric>:<task>``, and ``mean <metric>`` over the tasks."""
    rows = []
    # a key run again under a new hash (e.g. after a mixlab upgrade) counts once: its latest finished row
    query = ("select key, labels, metrics from runs as r where kind = 'eval' and status = 'done' and finished_at = "
             "(select max(finished_at) from runs where key = r.key and status = 'done') group by key order by key")
    for key, labels, metrics in db.execute(query):
        labels, metrics = json.loads(labels or "{}"), json.loads(metrics or "{}")
        if not isinstance(labels.get("weights"), dict) or labels.get("role", "proxy") != "proxy":
            continue  # baselines may train longer than the proxies: not the same target
        row: dict[str, Any] = {"key": key, "seed": labels.get("seed")}
        row |= {f"{PREFIX}{group}": float(w) for group, w in labels["weights"].items()}
        row |= {name: value for name, value in (metrics.get("overall") or {}).items()}
        tasks = metrics.get("tasks") or {}
        for task, values in sorted(tasks.items()):
            row |= {f"{name}:{task}": value for name, value in values.items()}
        for name in sorted({m for values in tasks.values() for m in values}):
            row[f"mean {name}"] = float(np.mean([v[name] for v in tasks.values() if name in v]))
        rows.append(row)
    if not rows:
        raise DataError("this experiment's results.sqlite has no finished eval run with mixture weights in its "
                        "labels (run a regmix experiment, or give --table/--query)")
    return pandas.DataFrame(rows).fillna({c: 0.0 for c in {c for r in rows for c in r if c.startswith(PREFIX)}})


def _auto_weights(frame: Any, targets: Sequence[str], ignore: Sequence[str]) -> list[str]:
    types = import_extra("pandas", "reading a results table").api.types
    numeric = [c for c in frame.columns if c not in targets and c not in ignore
               and types.is_numeric_dtype(frame[c]) and not types.is_bool_dtype(frame[c])]
    if numeric:
        sums = frame[numeric].fillna(0.0).to_numpy(float).sum(axis=1)
        if np.allclose(sums, 1.0, atol=1e-3):
            return numeric
    raise DataError(f"cannot tell the weight columns: no column starts with {PREFIX!r}, and the other numeric "
                    f"columns {numeric} do not sum to 1 in every row; name them with --weights a,b,c (or "
                    f"--prefix), and leave out ids with --ignore")


def split_columns(frame: Any, targets: Sequence[str], *, weights: Sequence[str] | None = None,
                  prefix: str = PREFIX, ignore: Sequence[str] = ()) -> Split:
    """Split ``frame`` into weights and ``targets`` (rules in the module doc)."""
    columns = [str(c) for c in frame.columns]
    frame = frame.set_axis(columns, axis=1)
    unknown = [t for t in targets if t not in columns]
    if unknown:
        raise DataError(f"target column(s) {unknown} not in the table; its columns are {columns}")
    if weights:
        missing = [w for w in weights if w not in columns]
        if missing:
            raise DataError(f"weight column(s) {missing} not in the table; its columns are {columns}")
        chosen, names, how = list(weights), list(weights), "--weights"
    elif prefix and any(c.startswith(prefix) for c in columns):
        chosen = [c for c in columns if c.startswith(prefix) and c not in targets]
        names, how = [c[len(prefix):] for c in chosen], f"columns starting with {prefix!r}"
    else:
        chosen = _auto_weights(frame, targets, ignore)
        names, how = list(chosen), "the numeric columns that sum to 1"
    overlap = sorted(set(chosen) & set(targets))
    if overlap:
        raise DataError(f"column(s) {overlap} are both weights and targets; choose one")
    empty = frame[list(targets)].isna().any(axis=1)
    kept = frame.loc[~empty]
    if kept.empty:
        raise DataError(f"no row has a value for every target {list(targets)}; did the runs finish?")
    weight_frame = kept[chosen].set_axis(names, axis=1).reset_index(drop=True)
    if weight_frame.isna().any().any():
        row = int(np.flatnonzero(weight_frame.isna().any(axis=1).to_numpy())[0])
        raise DataError(f"weights row {row} has an empty weight; write 0 for a task a run did not train on")
    return Split(weights=weight_frame, losses=kept[list(targets)].reset_index(drop=True), how=how,
                 num_dropped=int(empty.sum()))
