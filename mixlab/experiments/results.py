"""The results table of an experiment: ``DIR/results.sqlite``, one row per run, read by pandas and DuckDB.

Tables (SQLite from the standard library; no server, one file)::

    runs     hash (primary key), key, keys (JSON), kind, parent, mixture, seed, steps, tokens, status,
             attempts, wall_time_s, run_folder (relative to DIR), metric_source, metrics (JSON),
             labels (JSON), config (JSON), error, started_at, finished_at
    metrics  hash, scope ('overall' | 'task'), name (task name; '' for overall), metric, value, source
    meta     key, value: the experiment spec (JSON), protocol, name, mixlab version

``status`` is ``pending`` (planned), ``running``, ``done``, ``failed`` or ``blocked`` (a parent failed).
Only the driver process writes; readers may open the file at any time::

    import pandas, sqlite3
    runs = pandas.read_sql("select * from runs", sqlite3.connect("DIR/results.sqlite"))
    # DuckDB: INSTALL sqlite; SELECT * FROM sqlite_scan('DIR/results.sqlite', 'metrics');
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from mixlab.errors import DataError

FILE = "results.sqlite"
STATUSES = ("pending", "running", "done", "failed", "blocked")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    hash TEXT PRIMARY KEY, key TEXT NOT NULL, keys TEXT NOT NULL, kind TEXT NOT NULL, parent TEXT,
    mixture TEXT, seed INTEGER, steps INTEGER, tokens INTEGER, status TEXT NOT NULL, attempts INTEGER NOT NULL,
    wall_time_s REAL, run_folder TEXT NOT NULL, metric_source TEXT, metrics TEXT, labels TEXT NOT NULL,
    config TEXT, error TEXT, started_at TEXT, finished_at TEXT);
CREATE TABLE IF NOT EXISTS metrics (
    hash TEXT NOT NULL, scope TEXT NOT NULL, name TEXT NOT NULL, metric TEXT NOT NULL, value REAL,
    source TEXT NOT NULL, PRIMARY KEY (hash, scope, name, metric));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
JSON_COLUMNS = ("keys", "metrics", "labels", "config")


class ResultsTable:
    """Read and write ``DIR/results.sqlite`` (each call opens and closes its own connection)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.path = self.root / FILE

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as connection, connection:
            yield connection

    def create(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(_SCHEMA)

    def exists(self) -> bool:
        return self.path.is_file()

    # -- writes (the driver) -------------------------------------------------------------------------
    def set_meta(self, values: dict[str, Any]) -> None:
        with self._connect() as db:
            db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                           [(k, json.dumps(v, sort_keys=True)) for k, v in values.items()])

    def add_planned(self, rows: Iterable[dict[str, Any]]) -> None:
        """Insert planned runs as ``pending``; rows already present keep their status (keys and labels refresh)."""
        with self._connect() as db:
            for row in rows:
                values = {**row, **{c: json.dumps(row[c], sort_keys=True) for c in JSON_COLUMNS if c in row}}
                db.execute(
                    "INSERT INTO runs (hash, key, keys, kind, parent, mixture, seed, steps, status, attempts, "
                    "run_folder, labels, config) VALUES (:hash, :key, :keys, :kind, :parent, :mixture, :seed, "
                    ":steps, 'pending', 0, :run_folder, :labels, :config) ON CONFLICT(hash) DO UPDATE SET "
                    "key = excluded.key, keys = excluded.keys, labels = excluded.labels", values)

    def mark_running(self, run_hash: str, started_at: str) -> None:
        with self._connect() as db:
            db.execute("UPDATE runs SET status = 'running', attempts = attempts + 1, started_at = ?, error = NULL "
                       "WHERE hash = ?", (started_at, run_hash))

    def mark(self, run_hash: str, status: str, error: str | None = None) -> None:
        assert status in STATUSES, status
        with self._connect() as db:
            db.execute("UPDATE runs SET status = ?, error = ? WHERE hash = ?", (status, error, run_hash))

    def record(self, result: dict[str, Any]) -> None:
        """Store a finished run's result (``execute``'s return value): the row and its long-form metrics."""
        metrics = result.get("metrics") or {}
        source = result.get("metric_source") or ""
        with self._connect() as db:
            db.execute("UPDATE runs SET status = 'done', steps = ?, tokens = ?, wall_time_s = ?, metric_source = ?, "
                       "metrics = ?, started_at = ?, finished_at = ?, error = NULL WHERE hash = ?",
                       (result.get("steps"), result.get("tokens"), result.get("wall_time_s"), source,
                        json.dumps(metrics, sort_keys=True), result.get("started_at"), result.get("finished_at"),
                        result["hash"]))
            db.execute("DELETE FROM metrics WHERE hash = ?", (result["hash"],))
            db.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?)",
                           list(_long_rows(result["hash"], metrics, source)))

    # -- reads ---------------------------------------------------------------------------------------
    def rows(self, where: str = "", params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        """Every run as a dict (JSON columns decoded), in insertion (plan) order."""
        if not self.exists():
            raise DataError(f"no results table at {self.path}; fix: run `mixlab experiment run SPEC --out "
                            f"{self.root}` first")
        with self._connect() as db:
            db.row_factory = sqlite3.Row
            found = db.execute(f"SELECT * FROM runs {where} ORDER BY rowid", params).fetchall()
        return [_decode(dict(row)) for row in found]

    def row(self, run_hash: str) -> dict[str, Any] | None:
        found = self.rows("WHERE hash = ?", (run_hash,))
        return found[0] if found else None

    def metrics(self) -> list[dict[str, Any]]:
        with self._connect() as db:
            db.row_factory = sqlite3.Row
            return [dict(r) for r in db.execute("SELECT * FROM metrics ORDER BY hash, scope, name, metric")]

    def meta(self) -> dict[str, Any]:
        with self._connect() as db:
            return {k: json.loads(v) for k, v in db.execute("SELECT key, value FROM meta")}

    def counts(self) -> dict[str, int]:
        with self._connect() as db:
            found = dict(db.execute("SELECT status, count(*) FROM runs GROUP BY status").fetchall())
        return {status: int(found.get(status, 0)) for status in STATUSES}


def _long_rows(run_hash: str, metrics: dict[str, Any], source: str) -> Iterator[tuple[Any, ...]]:
    for metric, value in sorted((metrics.get("overall") or {}).items()):
        yield run_hash, "overall", "", metric, _number(value), source
    for task, values in sorted((metrics.get("tasks") or {}).items()):
        for metric, value in sorted(values.items()):
            yield run_hash, "task", task, metric, _number(value), source


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    for column in JSON_COLUMNS:
        if row.get(column) is not None:
            row[column] = json.loads(row[column])
    return row


__all__ = ["FILE", "STATUSES", "ResultsTable"]
