"""The results table: one row per run, long-form metrics, read back by pandas."""

from __future__ import annotations

import sqlite3

import pytest

from mixlab.errors import DataError
from mixlab.experiments import ResultsTable


def planned(run_hash: str, kind: str = "eval") -> dict:
    return {"hash": run_hash, "key": f"eval/{run_hash}", "keys": [f"eval/{run_hash}"], "kind": kind, "parent": None,
            "mixture": None, "seed": 0, "steps": 4, "run_folder": f"runs/{run_hash}", "labels": {"seed": 0},
            "config": {"tasks": ["a", "b"]}}


def test_a_run_goes_pending_running_done_with_its_metrics_in_long_form(tmp_path):
    table = ResultsTable(tmp_path)
    table.create()
    table.add_planned([planned("h1"), planned("h2")])
    table.mark_running("h1", "2026-01-01T00:00:00+00:00")
    table.record({"hash": "h1", "steps": 4, "tokens": 0, "wall_time_s": 1.5, "metric_source": "teacher_forced",
                  "metrics": {"overall": {"eval_loss": 2.0}, "tasks": {"a": {"eval_loss": 1.0, "eval_accuracy": 0.5},
                                                                       "b": {"eval_loss": 3.0, "eval_accuracy": 0.25}}},
                  "started_at": "s", "finished_at": "f"})
    table.mark_running("h2", "t")
    table.mark("h2", "failed", "RuntimeError: boom")
    rows = {row["hash"]: row for row in table.rows()}
    assert rows["h1"]["status"] == "done" and rows["h1"]["attempts"] == 1 and rows["h1"]["wall_time_s"] == 1.5
    assert rows["h1"]["metrics"]["tasks"]["b"]["eval_accuracy"] == 0.25 and rows["h1"]["labels"] == {"seed": 0}
    assert (rows["h2"]["status"], rows["h2"]["error"]) == ("failed", "RuntimeError: boom")
    assert table.counts() == {"pending": 0, "running": 0, "done": 1, "failed": 1, "blocked": 0}
    long = {(m["scope"], m["name"], m["metric"]): (m["value"], m["source"]) for m in table.metrics()}
    assert long == {("overall", "", "eval_loss"): (2.0, "teacher_forced"),
                    ("task", "a", "eval_loss"): (1.0, "teacher_forced"),
                    ("task", "a", "eval_accuracy"): (0.5, "teacher_forced"),
                    ("task", "b", "eval_loss"): (3.0, "teacher_forced"),
                    ("task", "b", "eval_accuracy"): (0.25, "teacher_forced")}
    table.add_planned([planned("h1")])  # planning again keeps the status and the attempts
    assert table.row("h1")["status"] == "done" and table.row("h1")["attempts"] == 1


def test_pandas_reads_the_table(tmp_path):
    pandas = pytest.importorskip("pandas")
    table = ResultsTable(tmp_path)
    table.create()
    table.add_planned([planned("h1", "pretrain")])
    table.record({"hash": "h1", "steps": 4, "tokens": 123, "metrics": {"overall": {"loss": 4.5}, "tasks": {}},
                  "metric_source": "train_log"})
    with sqlite3.connect(table.path) as db:
        runs = pandas.read_sql("SELECT hash, kind, tokens, status FROM runs", db)
        metrics = pandas.read_sql("SELECT * FROM metrics", db)
    assert runs.to_dict("records") == [{"hash": "h1", "kind": "pretrain", "tokens": 123, "status": "done"}]
    assert metrics[["metric", "value", "source"]].to_dict("records") == [
        {"metric": "loss", "value": 4.5, "source": "train_log"}]


def test_reading_a_folder_without_a_table_says_what_to_run(tmp_path):
    with pytest.raises(DataError, match=r"no results table at .*; fix: run `mixlab experiment run SPEC --out"):
        ResultsTable(tmp_path).rows()
