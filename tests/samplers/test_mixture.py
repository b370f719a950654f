"""Mixtures: seqio-style nesting worked by hand, R-mixing, tables, manifests, and bad inputs."""

from __future__ import annotations

import json

import pytest

from mixlab import Mixture, MixtureSpecError, Registry
from mixlab.samplers import strategies as S
from tests.samplers.helpers import make_task

A, B, C = make_task("t/a", 100, "X"), make_task("t/b", 400, "X"), make_task("t/c", 1000, "Y")
SS = make_task("c4/text", 5000, "self-supervised", self_supervised=True)


def test_nested_rates_worked_by_hand():
    inner = Mixture.from_strategy([A, B], S.Proportional(), name="inner")  # a .2, b .8
    assert inner.probabilities == {"t/a": 0.2, "t/b": 0.8}
    outer = Mixture.of([(inner, 2.0), (A, 1.0), (C, 1.0)], name="outer")
    # a: 2*.2 + 1 = 1.4, b: 2*.8 = 1.6, c: 1; total 4
    assert outer.probabilities == pytest.approx({"t/a": 0.35, "t/b": 0.4, "t/c": 0.25}, abs=1e-15)
    assert list(outer.probabilities) == ["t/a", "t/b", "t/c"]
    assert outer.families == pytest.approx({"X": 0.75, "Y": 0.25})


def test_mixture_of_mixtures_with_duplicates_adds_up():
    m1 = Mixture.of([(A, 1.0), (B, 3.0)], name="m1")  # .25 .75
    m2 = Mixture.of([(B, 1.0), (C, 1.0)], name="m2")  # .5 .5
    top = Mixture.of([(m1, 1.0), (m2, 1.0), (A, 1.0), (A, 1.0)], name="top")
    # a: .25 + 2 = 2.25, b: .75 + .5 = 1.25, c: .5; total 4
    assert top.probabilities == pytest.approx({"t/a": 0.5625, "t/b": 0.3125, "t/c": 0.125}, abs=1e-15)


def test_rmix_examples_and_tokens():
    sup = Mixture.from_strategy([A, B], S.Proportional(), name="sup")
    mix = Mixture.rmix(SS, sup, 2, name="ext5")
    assert mix.probabilities == pytest.approx({"c4/text": 2 / 3, "t/a": 0.2 / 3, "t/b": 0.8 / 3}, abs=1e-15)
    assert mix.description["rmix"]["R"] == 2
    # R = 2 in tokens; 400 tokens per self-supervised example, 100 per supervised: 0.5 examples per example
    tok = Mixture.rmix(SS, sup, 2, unit="tokens", tokens_per_example=(400, 100), name="ext5-tokens")
    assert tok.probabilities["c4/text"] == pytest.approx(1 / 3, abs=1e-15)
    with pytest.warns(UserWarning, match=r"dropping components with weight 0 .*c4/text"):
        only_sup = Mixture.rmix(SS, sup, 0, name="r0")
    assert only_sup.probabilities == sup.probabilities


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"R": -1}, r"rmix R must be a finite number >= 0 .*got -1"),
    ({"R": float("inf")}, r"rmix R must be a finite number"),
    ({"R": 2, "unit": "tokens"}, r"unit 'tokens' needs tokens_per_example"),
    ({"R": 2, "unit": "tokens", "tokens_per_example": (0, 5)}, r"tokens_per_example for the self-supervised side"),
    ({"R": 2, "unit": "bytes"}, r"unit must be one of 'examples', 'documents', 'tokens', got 'bytes'"),
])
def test_rmix_errors(kwargs, match):
    with pytest.raises(MixtureSpecError, match=match):
        Mixture.rmix(SS, A, name="bad", **kwargs)


def test_zero_weight_and_empty_tasks_are_dropped_with_warning():
    empty = make_task("t/empty", 0)
    with pytest.warns(UserWarning,
                      match=r"dropping components with weight 0 or no train examples: \['t/b', 't/empty'\]"):
        mix = Mixture.of([(A, 1.0), (B, 0.0), (empty, 3.0)], name="m")
    assert mix.probabilities == {"t/a": 1.0}
    with pytest.warns(UserWarning, match=r"dropping tasks with 0 train examples: \['t/empty'\]"):
        mix = Mixture.from_strategy([A, empty], S.Uniform(), name="m")
    assert mix.probabilities == {"t/a": 1.0}
    with pytest.warns(UserWarning, match=r"rate 0 under the explicit strategy: \['t/b'\]"):
        mix = Mixture.from_strategy([A, B], S.Explicit(weights={"t/a": 1, "t/b": 0}), name="m")
    assert list(mix.probabilities) == ["t/a"] and list(mix.tasks) == ["t/a"]


@pytest.mark.parametrize(("build", "match"), [
    (lambda: Mixture.of([], name="m"), r"mixture 'm': no components"),
    (lambda: Mixture.of([(A, -1.0)], name="m"), r"weight of 't/a' is -1.0; weights must be finite numbers >= 0"),
    (lambda: Mixture.of([(A, float("nan"))], name="m"), r"weight of 't/a' is nan"),
    (lambda: Mixture.of([(A, 0.0)], name="m"), r"every component has weight 0"),
    (lambda: Mixture.of([("t/a", 1.0)], name="m"), r"component 0 is a str, not a Task or Mixture"),
    (lambda: Mixture.of([A], name="m"), r"component 0 is .* not a \(component, weight\) pair"),
    (lambda: Mixture.from_strategy([], S.Uniform(), name="m"), r"no tasks selected; the mixture would be empty"),
    (lambda: Mixture.from_strategy([A, make_task("t/a", 5, version="2.0")], S.Uniform(), name="m"),
     r"two different tasks are named 't/a' \(t/a@1.0.0 and t/a@2.0\)"),
    (lambda: Mixture.from_strategy([make_task("t/z", 0)], S.Uniform(), name="m"), r"every selected task has 0"),
])
@pytest.mark.filterwarnings("ignore:mixture 'm'.*dropping")
def test_bad_mixtures(build, match):
    with pytest.raises(MixtureSpecError, match=match):
        build()


def test_table_rows():
    mix = Mixture.from_strategy([A, B, C], S.Proportional(cap=500), name="m")  # 100, 400, 500 of 1000
    rows = mix.table(total_examples=2000)
    assert rows[2] == {"task": "t/c", "family": "Y", "num_examples": 1000, "num_capped": 500.0, "rate": 0.5,
                       "expected_examples": 1000.0, "epochs": 1.0}
    assert [r["expected_examples"] for r in rows] == pytest.approx([200, 800, 1000])
    assert rows[0]["epochs"] == pytest.approx(2.0)
    assert mix.table()[0]["expected_examples"] is None
    nested = Mixture.of([(mix, 1.0), (SS, 1.0)], name="n")
    assert {r["task"]: r["num_capped"] for r in nested.table()}["t/c"] == 500.0


def test_manifest(tmp_path):
    registry = Registry.from_tasks([A, B, C], distribution="mixlab-test-tasks")
    mix = Mixture.from_strategy([A, B, C], S.Proportional(cap=500), name="m").with_provenance(registry)
    manifest = mix.manifest()
    assert manifest["name"] == "m" and manifest["format"] == "mixlab.mixture/1"
    assert manifest["cap"] == 500.0 and manifest["strategies"] == {"m": manifest["strategy"]}
    assert manifest["strategy"] == {"kind": "proportional", "cap": 500, "scale": 1.0, "temperature": 1.0}
    assert manifest["tasks"][0] == {"name": "t/a", "rate": 0.1, "family": "X", "collection": "test",
                                    "num_examples": 100, "num_capped": 100.0, "cap": 500.0,
                                    "version": "1.0.0", "fingerprint": "t/a@1.0.0",
                                    "plugin": {"distribution": "mixlab-test-tasks", "version": "0",
                                               "entry_point": "mixlab-test-tasks", "value": "<in memory>"}}
    assert manifest["spec"] == {"name": "m", "tasks": ["t/a", "t/b", "t/c"],
                                "strategy": {"kind": "proportional", "cap": 500, "scale": 1.0, "temperature": 1.0}}
    path = mix.write_manifest(tmp_path / "run" / "mixture.json")
    assert json.loads(path.read_text()) == json.loads(json.dumps(manifest))


def test_nested_manifest_records_caps_and_strategies():
    inner = Mixture.from_strategy([A, B, C], S.Proportional(cap=500), name="inner")
    uniform = Mixture.from_strategy([make_task("t/u", 50, "U")], S.Uniform(), name="flat")
    mix = Mixture.rmix(SS, Mixture.of([(inner, 1.0), (uniform, 1.0)], name="sup"), 2.0, name="outer")
    manifest = json.loads(json.dumps(mix.manifest()))
    assert manifest["cap"] == 500.0 and mix.cap == 500.0 and manifest["strategy"] is None
    assert manifest["strategies"] == {"inner": {"kind": "proportional", "cap": 500, "scale": 1.0, "temperature": 1.0},
                                      "flat": {"kind": "uniform"}}
    by_name = {e["name"]: e for e in manifest["tasks"]}
    assert {n: (e["num_examples"], e["num_capped"], e["cap"]) for n, e in by_name.items()} == {
        "t/a": (100, 100.0, 500.0), "t/b": (400, 400.0, 500.0), "t/c": (1000, 500.0, 500.0),
        "t/u": (50, 50.0, None), SS.name: (SS.num_train, float(SS.num_train), None)}
    assert Mixture.of([(A, 1.0)], name="plain").cap is None


def test_sub_mixtures_with_one_name_and_two_strategies_are_refused():
    """The manifest records one strategy per sub-mixture name: two different ones under one name would
    silently lose one from the run record."""
    a, b = make_task("s/a", 10), make_task("s/b", 20)
    capped = Mixture.from_strategy([a], S.Proportional(cap=5), name="x")
    uniform = Mixture.from_strategy([b], S.Uniform(), name="x")
    with pytest.raises(MixtureSpecError, match=r"two sub-mixtures named 'x' use different strategies"):
        Mixture.of([(capped, 1.0), (uniform, 1.0)], name="m")
    twice = Mixture.of([(capped, 1.0), (capped, 2.0)], name="m")  # the same sub-mixture twice is fine
    assert twice.manifest()["strategies"]["x"]["kind"] == "proportional"


def test_rates_is_a_deprecated_name_of_probabilities():
    mix = Mixture.of([(make_task("t/a", 10), 1.0), (make_task("t/b", 30), 3.0)], name="m")
    with pytest.warns(DeprecationWarning, match="renamed Mixture.probabilities"):
        old = mix.rates
    assert old == mix.probabilities == {"t/a": 0.25, "t/b": 0.75}
