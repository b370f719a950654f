"""Scheduled mixtures: the ``schedule`` shape of a spec, its weights over steps, and its stream."""

from __future__ import annotations

import itertools

import pytest

from mixlab import MixtureSpec, MixtureSpecError, Registry
from mixlab.samplers import resolve_mixture
from mixlab.samplers.mixture_schedule import MixtureSchedule, initial_probabilities
from tests.samplers.helpers import make_task

TASKS = [make_task("s/a", 100, "F1"), make_task("s/b", 300, "F1"), make_task("s/c", 600, "F2"),
         make_task("s/text", 1000, "T", self_supervised=True)]
UNIFORM = {"name": "uniform", "tasks": ["s/a", "s/b", "s/c"], "strategy": {"kind": "uniform"}}
PROPORTIONAL = {"name": "proportional", "tasks": ["s/a", "s/b", "s/c"], "strategy": {"kind": "proportional"}}


@pytest.fixture
def registry():
    return Registry.from_tasks(TASKS, distribution="mixlab-test-tasks")


def test_piecewise_constant_and_linear_stages(registry):
    spec = {"name": "curriculum", "schedule": [
        {"step": 0, "mixture": UNIFORM},
        {"step": 100, "mixture": PROPORTIONAL, "ramp": "linear", "every": 10},
        {"step": 300, "mixture": {"name": "rm", "rmix": {"self_supervised": "s/text", "supervised": PROPORTIONAL,
                                                         "R": 1}}}]}
    mix = resolve_mixture(spec, registry=registry)
    schedule = MixtureSchedule.from_mixture(mix)
    assert list(mix.probabilities) == ["s/a", "s/b", "s/c", "s/text"]
    third = 1 / 3
    assert schedule.probabilities_at(0) == pytest.approx({"s/a": third, "s/b": third, "s/c": third, "s/text": 0})
    assert schedule.probabilities_at(9) == schedule.probabilities_at(0)  # updated every 10 steps
    # at step 50 the ramp is half-way: (uniform + proportional) / 2
    assert schedule.probabilities_at(50) == pytest.approx({"s/a": (third + 0.1) / 2, "s/b": (third + 0.3) / 2,
                                                           "s/c": (third + 0.6) / 2, "s/text": 0})
    assert schedule.probabilities_at(100) == pytest.approx({"s/a": 0.1, "s/b": 0.3, "s/c": 0.6, "s/text": 0})
    assert schedule.probabilities_at(299) == schedule.probabilities_at(100)
    assert schedule.probabilities_at(300) == pytest.approx({"s/a": 0.05, "s/b": 0.15, "s/c": 0.3, "s/text": 0.5})
    assert schedule.change_steps(1000) == [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 300]
    # the mixture's own probabilities are the mean of its stages; its stream starts with the first stage
    assert mix.probabilities["s/text"] == pytest.approx(0.5 / 3)
    assert initial_probabilities(mix) == schedule.probabilities_at(0)
    drawn = {task for task, _ in itertools.islice(mix.stream(seed=0).schedule(), 2000)}
    assert drawn == {"s/a", "s/b", "s/c"}
    assert mix.manifest()["spec"]["schedule"][1]["ramp"] == "linear"


def test_schedule_from_a_spec_file_with_relative_stage_files(registry, tmp_path, monkeypatch):
    import yaml

    (tmp_path / "uniform.yaml").write_text(yaml.safe_dump(UNIFORM))
    (tmp_path / "ramp.yaml").write_text("schedule:\n  - {step: 0, mixture: uniform.yaml}\n"
                                        "  - {step: 40, mixture: {name: p, tasks: [s/a, s/b, s/c], "
                                        "strategy: {kind: proportional}}, ramp: linear}\n")
    monkeypatch.chdir(tmp_path.parent)
    mix = MixtureSpec.from_file(tmp_path / "ramp.yaml").build(registry)
    schedule = MixtureSchedule.from_mixture(mix)
    assert mix.name == "ramp" and [s.every for s in schedule.stages] == [1, 2]  # default: 20 updates
    assert schedule.change_steps(100) == list(range(2, 42, 2))


def test_schedule_spec_errors(registry):
    with pytest.raises(MixtureSpecError, match=r"first stage holds from step 0 and cannot ramp"):
        MixtureSpec(name="m", schedule=[{"step": 5, "mixture": "x"}])
    with pytest.raises(MixtureSpecError, match=r"strictly increasing steps, got \[0, 10, 10\]"):
        MixtureSpec(name="m", schedule=[{"step": 0, "mixture": "x"}, {"step": 10, "mixture": "y"},
                                        {"step": 10, "mixture": "z"}])
    with pytest.raises(MixtureSpecError, match=r"every=5 does nothing with ramp 'step'"):
        MixtureSpec(name="m", schedule=[{"step": 0, "mixture": "x"}, {"step": 10, "mixture": "y", "every": 5}])
    with pytest.raises(MixtureSpecError, match=r"exactly one of tasks \(\+ strategy\), components, rmix or schedule"):
        MixtureSpec(name="m", rmix={"self_supervised": "a", "supervised": "b", "R": 1},
                    schedule=[{"step": 0, "mixture": "x"}])
    nested = {"name": "outer", "components": [{"mixture": {"name": "inner", "schedule": [
        {"step": 0, "mixture": UNIFORM}]}, "weight": 1}]}
    with pytest.raises(MixtureSpecError, match=r"uses mixture 'inner', whose weights follow a schedule"):
        resolve_mixture(nested, registry=registry)
