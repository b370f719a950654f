"""kill -9 a training process at four seeded random points (one in a checkpoint write) and resume.

After every kill each ``checkpoints/step_*`` folder verifies against its manifest; after the last
resume the run has the per-step losses (bit-identical on CPU) and per-step batch digests of an
uninterrupted run, so it trained on exactly the same examples. The second test does the same with
a policy that changes the mixture weights every third step, killing right after such an update.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from mixlab.train import PretrainConfig, read_metrics, train
from mixlab.train.checkpoint import DELAY_ENV, CheckpointManager

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("mixlab_wordnet") is None, reason="needs the mixlab-wordnet plugin"),
]
STEPS = 36


def _fields(out_dir: Path) -> dict:
    import mixlab_wordnet

    return dict(mixture="wordnet-ext5", tokenizer=str(mixlab_wordnet.tokenizer_path()), model="tiny", batch_size=4,
                input_length=32, target_length=16, steps=STEPS, warmup_steps=5, log_interval=1,
                checkpoint_interval=4, keep_checkpoints=2, log_batch_digest=True, out_dir=str(out_dir),
                backend={"precision": "fp32"})


def _per_step(run_dir: Path) -> list[tuple]:
    return [(m["step"], m["loss"], m["task_loss"], m["batch_digests"], m.get("task_weights"))
            for m in read_metrics(run_dir) if "loss" in m]


def _last_step(run_dir: Path) -> int:
    path = run_dir / "metrics.jsonl"
    lines = path.read_text().splitlines() if path.is_file() else []
    for line in reversed(lines):
        try:
            return int(json.loads(line)["step"])
        except ValueError:  # a line being written right now
            continue
    return 0


def _wait(predicate, proc: subprocess.Popen, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"training exited (rc {proc.returncode}) before {what}; see its stderr-*.txt")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def _assert_checkpoints_verify(run_dir: Path) -> list[int]:
    manager = CheckpointManager(run_dir / "checkpoints", keep=2, save_fn=None, load_fn=None)
    assert manager.problems() == {}, "a kill left a half-written checkpoint under a step_* name"
    return manager.steps()


def test_sigkill_at_random_points_then_resume_matches_uninterrupted_run(tmp_path):  # ~25 s
    rng = np.random.default_rng(20261123)
    # four kills: at a random instant of start-up, after a random step (at a random instant in a later one),
    # in the middle of a checkpoint write, after another random step
    plan = [("time", float(rng.uniform(0.5, 2.5))), ("step", int(rng.integers(2, 12))), ("checkpoint", None),
            ("step", int(rng.integers(22, 32)))]
    _kill_resume_and_compare(tmp_path, {}, plan, rng)


def test_sigkill_with_a_policy_right_after_weight_updates_and_mid_checkpoint(tmp_path):  # ~30 s
    """ODM updates the weights after every third step; kills land right after an update (and in a checkpoint
    write), and the resumed run still has the uninterrupted run's batches, losses and weights."""
    rng = np.random.default_rng(20261204)
    updates = [s for s in range(3, STEPS, 3) if s % 4]  # update steps that are not checkpoint steps
    plan = [("update", int(rng.choice(updates[:3]))), ("checkpoint", None), ("update", int(rng.choice(updates[5:8]))),
            ("time", float(rng.uniform(0.5, 2.5)))]
    mixture = {"name": "pair", "tasks": ["wordnet/antonym", "wordnet/pos", "wordnet/supersense"],
               "strategy": {"kind": "proportional"}}
    _kill_resume_and_compare(tmp_path, {"mixture": mixture, "policy": {"kind": "odm", "every": 3}}, plan, rng)


def _kill_resume_and_compare(tmp_path: Path, extra: dict, plan: list, rng: np.random.Generator) -> None:
    killed = tmp_path / "killed"
    cfg_path = tmp_path / "cfg.yaml"
    cfg_path.write_text(yaml.safe_dump({**_fields(killed), **extra}))
    cmd = [sys.executable, "-m", "mixlab", "train", str(cfg_path), "--no-progress"]
    resume: list[str] = []
    for trial, (kind, point) in enumerate(plan):
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        if kind == "checkpoint":
            env[DELAY_ENV] = "0.4"  # the writer sleeps after each file: a wide window to kill it in
        log = open(tmp_path / f"stderr-{trial}.txt", "w")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(cmd + resume, env=env, stdout=subprocess.DEVNULL, stderr=log)
        try:
            if kind == "time":
                time.sleep(point)
            elif kind == "update":  # right after the log line of an update step: the change is being made
                _wait(lambda: _last_step(killed) >= point, proc, f"step {point}")  # noqa: B023 - called now
            elif kind == "step":
                _wait(lambda: _last_step(killed) >= point, proc, f"step {point}")  # noqa: B023 - called now
                time.sleep(float(rng.uniform(0, 0.05)))  # somewhere inside a later step
            else:
                staging = killed / "checkpoints"
                _wait(lambda: any(any(p.iterdir()) for p in staging.glob(".step_*.tmp-*")), proc,  # noqa: B023
                      "a checkpoint write")
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            log.close()
        steps = _assert_checkpoints_verify(killed)
        if kind == "checkpoint":
            assert list((killed / "checkpoints").glob(".step_*.tmp-*")), "the kill missed the checkpoint write"
        assert _last_step(killed) < STEPS, f"killed too late ({kind} {point}): {steps}"
        resume = ["--resume"]
    with open(killed / "metrics.jsonl", "a") as handle:
        handle.write('{"step": 99, "lo')  # a line cut by a kill is dropped on resume
    done = subprocess.run(cmd + resume, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert _assert_checkpoints_verify(killed)[-1] == STEPS
    assert not list((killed / "checkpoints").glob(".*")), "leftover staging/trash folders were not cleaned"

    straight = train(PretrainConfig(**{**_fields(tmp_path / "straight"), **extra}), progress=False)
    expected, got = _per_step(straight.out_dir), _per_step(killed)
    assert [r[0] for r in got] == list(range(1, STEPS + 1))
    assert [r[3] for r in got] == [r[3] for r in expected]  # the same examples, step by step
    assert got == expected  # losses (and weights) bit-identical
    if "policy" in extra:
        weights = [r[4] for r in got]
        assert len({tuple(sorted(w.items())) for w in weights}) > 3, "the policy never moved the weights"
