"""kill -9 an experiment mid-run, run it again: it completes, no finished run is repeated, the cut one resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from mixlab.experiments import ResultsTable
from mixlab.experiments.execute import RESULT
from tests.experiments.helpers import EVAL, ROOT, TRAIN, write_spec

pytestmark = pytest.mark.slow


def command(spec, out):
    return [sys.executable, "-m", "mixlab", "experiment", "run", str(spec), "--out", str(out), "--workers", "1",
            "--no-progress"]


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_kill_9_then_rerun_completes_without_repeating_a_finished_run(tmp_path):
    spec = write_spec(tmp_path, {
        "name": "kill-me", "protocol": "r_sweep", "train": {**TRAIN, "checkpoint_interval": 20},
        "eval": EVAL, "params": {"self_supervised": "wordnet/text", "supervised": "wordnet", "R": [1, 2],
                                 "no_supervised": True, "steps": 200, "targets": ["wordnet/pos"]}})
    out = tmp_path / "out"
    driver = subprocess.Popen(command(spec, out), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    runs = out / "runs"

    def cut_moment():
        folders = list(runs.glob("*")) if runs.is_dir() else []
        finished = [f for f in folders if (f / RESULT).is_file()]
        cut = [f for f in folders if not (f / RESULT).is_file() and list((f / "checkpoints").glob("step_*"))]
        return (finished, cut[0]) if finished and cut else None

    try:
        finished, cut = wait_for(cut_moment, 600, "one finished run and one with a checkpoint")
        os.kill(driver.pid, signal.SIGKILL)  # the driver only: its worker must notice and stop by itself
        driver.wait(timeout=30)
    finally:
        if driver.poll() is None:
            driver.kill()
    finished = [f for f in runs.glob("*") if (f / RESULT).is_file()]
    stamps = {f.name: (f / RESULT).stat().st_mtime_ns for f in finished}
    metrics = cut / "metrics.jsonl"
    time.sleep(3)  # the worker's watchdog polls every 0.5 s
    before = metrics.stat().st_mtime_ns if metrics.exists() else None
    time.sleep(2)
    assert (metrics.stat().st_mtime_ns if metrics.exists() else None) == before, "a worker kept training"
    assert not (cut / RESULT).is_file()

    rerun = subprocess.run(command(spec, out), cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    rows = {row["hash"]: row for row in ResultsTable(out).rows()}
    assert all(row["status"] == "done" for row in rows.values()) and len(rows) == 6
    for name, stamp in stamps.items():  # finished runs were not run again
        assert (runs / name / RESULT).stat().st_mtime_ns == stamp
        assert rows[name]["attempts"] == 1
    result = json.loads((cut / RESULT).read_text())
    assert rows[cut.name]["attempts"] == 2 and result["resumed_from_step"] in range(20, 200, 20)
    steps = [json.loads(line)["step"] for line in metrics.read_text().splitlines()]
    assert steps == sorted(set(steps)) and steps[-1] == 200  # one run's log, no repeated steps
    assert f"{6 - len(stamps)} run(s) executed, {len(stamps)} already done" in rerun.stdout
    assert (out / "r_sweep.csv").is_file()
