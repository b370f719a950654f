"""Every WordNet example spec runs end to end (shrunk to a few steps per run); the default scorer decodes."""

from __future__ import annotations

import csv
import json

import pytest

from mixlab.experiments import ResultsTable, run_experiment
from tests.experiments.helpers import TRAIN, examples, shrunk, write_spec

#: protocol -> (table, rows it has for the example as shipped)
TABLES = {"cotrain": ("cotraining", 6 * 2 + 6 * 5), "r_sweep": ("r_sweep", 5), "task_scaling": ("task_scaling", 4),
          "pretrain_vs_prefinetune": ("pretrain_vs_prefinetune", 3), "sample_efficiency": ("sample_efficiency", 4)}


@pytest.mark.slow
@pytest.mark.parametrize("example", examples("wordnet_"), ids=lambda p: p.stem)
def test_example_runs_end_to_end(example, tmp_path):
    spec = shrunk(example)
    result = run_experiment(write_spec(tmp_path, spec), tmp_path / "out", workers=2, progress=False)
    assert result.ok, result.failed
    name, num_rows = TABLES[spec["protocol"]]
    with (tmp_path / "out" / f"{name}.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == num_rows
    assert all(0 <= float(row.get("score", row.get("score_mean", "nan"))) <= 1 for row in rows)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    if spec["protocol"] == "cotrain" and not summary["figures"]:  # a few steps may leave a group at 0
        assert summary["notes"][0].startswith("no transfer graph: the baseline of ")
        return
    assert summary["figures"] and all((tmp_path / "out" / figure).stat().st_size > 5_000
                                      for figure in summary["figures"])


@pytest.mark.slow  # a worker process, a training run and decoding (about 20 s on 2 cores)
def test_the_default_scorer_decodes_and_keeps_the_predictions(tmp_path):
    spec = {"name": "decoded", "protocol": "r_sweep", "train": TRAIN, "eval": {"max_examples": 4, "batch_size": 4},
            "params": {"self_supervised": "wordnet/text", "supervised": "wordnet", "R": [1], "no_supervised": False,
                       "steps": 2, "targets": ["wordnet/pos"]}}
    out = tmp_path / "out"
    result = run_experiment(write_spec(tmp_path, spec), out, workers=1, progress=False)
    assert result.ok
    row = {r["key"]: r for r in ResultsTable(out).rows()}["eval/R=1/s0"]
    assert row["metric_source"] == "decoded"
    pos = row["metrics"]["tasks"]["wordnet/pos"]
    assert set(pos) == {"accuracy", "score"} and pos["score"] == pos["accuracy"]  # t5's 0-100 scale
    predictions = out / row["run_folder"] / "eval" / "validation" / "wordnet" / "pos.jsonl"
    lines = [json.loads(line) for line in predictions.read_text().splitlines()]
    assert len(lines) == 4 and all("prediction" in line for line in lines)
    hits = sum(line["prediction"] == line["target"] for line in lines)
    assert pos["accuracy"] == pytest.approx(100 * hits / 4)
    table = list(csv.DictReader((out / "r_sweep.csv").open()))
    assert [r["R"] for r in table] == ["1"] and float(table[0]["score_mean"]) == pytest.approx(pos["score"])
