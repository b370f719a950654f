"""Policies in the training loop: weights logged as trained, ODM fed the right losses, schedules from specs,
exact resume across weight changes, DoReMi's recipe and the unlearnable-task result."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mixlab import ConfigError
from mixlab.policies import ODM, StepStats
from mixlab.train import PretrainConfig, read_metrics, train

pytestmark = pytest.mark.skipif(importlib.util.find_spec("mixlab_wordnet") is None,
                                reason="needs the mixlab-wordnet plugin")
PAIR = {"name": "pair", "tasks": ["wordnet/antonym", "wordnet/pos"], "strategy": {"kind": "uniform"}}


def config(tmp_path, name="run", **fields):
    import mixlab_wordnet

    base = dict(mixture=PAIR, tokenizer=mixlab_wordnet.tokenizer_path(), model="tiny", batch_size=4, input_length=32,
                target_length=16, steps=6, warmup_steps=4, log_interval=1, checkpoint_interval=3,
                log_batch_digest=True, out_dir=str(tmp_path / name), backend={"precision": "fp32"})
    return PretrainConfig(**{**base, **fields})


def per_step(run_dir):
    return [(m["step"], m["loss"], m["task_loss"], m["batch_digests"], m["task_weights"])
            for m in read_metrics(run_dir) if "loss" in m]


def test_odm_is_fed_each_steps_losses_and_its_weights_are_logged(tmp_path):
    result = train(config(tmp_path, policy={"kind": "odm"}), progress=False)
    records = [m for m in read_metrics(result.out_dir) if "loss" in m]
    names = ["wordnet/antonym", "wordnet/pos"]
    replay = ODM(names, {n: 0.5 for n in names})
    for record in records:  # the logged weights are those in force while the step trained (before its update)
        assert record["task_weights"] == pytest.approx(replay.as_dict(replay.weights), abs=1e-12)
        assert record["policy"]["kind"] == "odm"
        losses = np.array([record["task_loss"].get(n, 0.0) for n in names])
        tokens = np.array([record["task_tokens"].get(n, 0) for n in names], dtype=float)
        replay.observe(StepStats(step=record["step"], loss_sums=losses * tokens, token_counts=tokens))
    assert records[0]["task_weights"] == {"wordnet/antonym": 0.5, "wordnet/pos": 0.5}
    assert records[-1]["task_weights"]["wordnet/antonym"] != 0.5  # it moved
    trainer = torch.load(result.out_dir / "checkpoints" / "step_0000006" / "trainer.pt", weights_only=False)
    assert trainer["mixing"]["policy"]["kind"] == "mixlab.policy.odm" and trainer["mixing"]["policy"]["t"] == 7
    changes = trainer["data"][0]["iterator"]["stream"]["changes"]
    assert changes and all(position % 256 == 0 for position, _ in changes)  # after whole chunks of items


@pytest.mark.slow  # three short runs, ~40 s on a shared CPU
def test_kill_after_a_weight_change_resumes_with_identical_batches_losses_and_weights(tmp_path):
    straight = train(config(tmp_path, "straight", policy={"kind": "odm"}), progress=False)
    cut = config(tmp_path, "cut", policy={"kind": "odm"})
    train(cut, steps=4, progress=False)  # the last checkpoint is step 3; steps 4 made a change, then "killed"
    resumed = train(cut, resume=True, progress=False)
    assert per_step(resumed.out_dir) == per_step(straight.out_dir)  # digests, losses and weights: exact
    with pytest.raises(Exception, match=r"was trained with policy 'odm', this run's config has none"):
        train(config(tmp_path, "cut"), resume=True, progress=False)


def test_schedule_from_a_spec_changes_the_weights_at_its_steps(tmp_path):
    spec = {"name": "switch", "schedule": [
        {"step": 0, "mixture": {"name": "a", "tasks": ["wordnet/antonym"], "strategy": {"kind": "uniform"}}},
        {"step": 3, "mixture": {"name": "b", "tasks": ["wordnet/pos"], "strategy": {"kind": "uniform"}}}]}
    result = train(config(tmp_path, mixture=spec, steps=4, checkpoint_interval=0), progress=False)
    records = [m for m in read_metrics(result.out_dir) if "loss" in m]
    assert [r["task_weights"]["wordnet/pos"] for r in records] == [0.0, 0.0, 0.0, 1.0]
    assert records[0]["policy"]["kind"] == "schedule"
    assert set(records[0]["task_tokens"]) == {"wordnet/antonym"}
    trainer = torch.load(result.out_dir / "checkpoints" / "step_0000004" / "trainer.pt", weights_only=False)
    stream = trainer["data"][0]["iterator"]["stream"]
    assert stream["probabilities"] == [1.0, 0.0] and stream["changes"] == [[256, [0.0, 1.0]]]


def test_policy_configuration_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"policy 'odm' moves mixture weights but data is 'synthetic'"):
        PretrainConfig(data="synthetic", steps=2, policy={"kind": "odm"})
    with pytest.raises(ConfigError, match=r"doremi needs reference"):
        config(tmp_path, policy={"kind": "doremi"})
    with pytest.raises(ConfigError, match=r"doremi weights the task losses \(apply: loss\), and so does loss_scaling"):
        train(config(tmp_path, policy={"kind": "doremi", "reference": str(tmp_path)}, loss_scaling="muppet",
                     output_space_sizes={"wordnet/pos": 4}), progress=False)
    with pytest.raises(ConfigError, match=r"doremi reference '.*': .* is not a checkpoint .* fix: point reference at"):
        train(config(tmp_path, policy={"kind": "doremi", "reference": str(tmp_path)}), progress=False)
    spec = {"name": "s", "schedule": [{"step": 0, "mixture": PAIR}]}
    with pytest.raises(ConfigError, match=r"follows a schedule and policy 'odm' would move its weights too"):
        train(config(tmp_path, mixture=spec, policy={"kind": "odm"}), progress=False)


@pytest.mark.slow  # two runs of 60 and 20 steps, about a minute on a shared CPU
def test_doremi_moves_weight_off_the_unlearnable_task(tmp_path):
    """The unlearnable-task result (examples/doremi_unlearnable.py, shorter): random labels lose weight within a
    few steps, the learnable task never falls below its uniform share; the averaged weights become a mixture."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
    try:
        import doremi_unlearnable as example
    finally:
        sys.path.pop(0)
    result = example.run(tmp_path, reference_steps=60, proxy_steps=20, progress=False)
    random = [w[example.RANDOM_TASK] for _, w in sorted(result["weights"].items())]
    learnable = [w[example.LEARNABLE_TASK] for _, w in sorted(result["weights"].items())]
    assert random[0] == 0.5 and max(random[3:]) < 0.5 and min(random) < 0.25  # below uniform from step 4 on
    assert min(learnable) >= 0.5
    assert result["average"][example.RANDOM_TASK] < 0.35
    assert math.isclose(sum(result["average"].values()), 1.0)
    from mixlab.report import write_report

    html = write_report(result["proxy"]).read_text()
    assert "Mixture weights over training" in html and html.count("data:image/png;base64") >= 2
