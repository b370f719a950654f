"""resources.processes > 1: each training run is launched with torchrun (here 2 CPU processes, gloo DDP)."""

from __future__ import annotations

import json

import pytest

from mixlab.experiments import ResultsTable, run_experiment
from mixlab.experiments.execute import TORCHRUN_CONFIG
from tests.experiments.helpers import EVAL, TRAIN, write_spec

pytestmark = pytest.mark.slow


def test_a_run_with_two_processes_trains_under_torchrun(tmp_path):
    spec = {"name": "ddp", "protocol": "r_sweep", "train": TRAIN, "eval": EVAL, "resources": {"processes": 2},
            "params": {"self_supervised": "wordnet/text", "supervised": "wordnet", "R": [1], "no_supervised": False,
                       "steps": 4, "targets": ["wordnet/pos"]}}
    out = tmp_path / "out"
    result = run_experiment(write_spec(tmp_path, spec), out, workers=1, progress=False)
    assert result.ok
    pretrain = result.plan.run("R=1/s0").folder(out)
    assert (pretrain / TORCHRUN_CONFIG).is_file()
    env = json.loads((pretrain / "env.json").read_text())
    assert (env["world_size"], env["backend"]) == (2, "torch") and "torchrun_config.yaml" in env["argv"]
    rows = {r["key"]: r for r in ResultsTable(out).rows()}
    assert rows["R=1/s0"]["status"] == "done" and rows["R=1/s0"]["tokens"] > 0
    assert rows["eval/R=1/s0"]["metrics"]["tasks"]["wordnet/pos"]["eval_tokens"] > 0
