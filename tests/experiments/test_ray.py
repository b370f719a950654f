"""The Ray executor (a local Ray on 2 CPUs) gives the same results table as the local process pool."""

from __future__ import annotations

import sys

import pytest

from mixlab.cli import main
from mixlab.errors import MissingDependencyError
from mixlab.experiments import ResultsTable, run_experiment
from mixlab.experiments.executors import make_executor
from tests.experiments.helpers import tiny_cotrain, write_spec


def test_a_missing_ray_is_one_line_naming_the_extra(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails as if it were not installed
    with pytest.raises(MissingDependencyError, match=r"^--executor ray needs ray, which is not installed: "
                                              r"pip install 'mixlab\[ray\]'$"):
        make_executor("ray")
    spec = write_spec(tmp_path, tiny_cotrain())
    assert main(["experiment", "run", str(spec), "--out", str(tmp_path / "out"), "--executor", "ray"]) == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        "mixlab experiment: error: --executor ray needs ray, which is not installed: pip install 'mixlab[ray]'"]


@pytest.mark.slow
def test_ray_and_local_executors_give_the_same_table(tmp_path):
    ray = pytest.importorskip("ray")
    spec = write_spec(tmp_path, tiny_cotrain())
    local = run_experiment(spec, tmp_path / "local", workers=2, progress=False)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote = run_experiment(spec, tmp_path / "ray", executor="ray", progress=False)
    finally:
        ray.shutdown()
    assert local.ok and remote.ok and sorted(local.executed) == sorted(remote.executed)

    def table(folder):
        return {row["hash"]: {k: row[k] for k in ("key", "kind", "status", "steps", "tokens", "metrics",
                                                  "metric_source", "run_folder", "config")}
                for row in ResultsTable(folder).rows()}

    assert table(tmp_path / "local") == table(tmp_path / "ray")  # same hashes, same metrics, bit for bit
    assert (tmp_path / "local" / "cotraining.csv").read_text() == (tmp_path / "ray" / "cotraining.csv").read_text()
