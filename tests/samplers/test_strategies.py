"""Rate strategies: exact golden values on hand-made tasks and hypothesis properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mixlab import Mixture, MixtureSpecError
from mixlab.samplers import strategies as S
from tests.samplers.helpers import make_task

A, B, C = make_task("t/a", 100, "X"), make_task("t/b", 400, "X"), make_task("t/c", 1000, "Y")
TASKS = [A, B, C]


def test_proportional_golden():
    assert S.Proportional().rates(TASKS) == {"t/a": 100, "t/b": 400, "t/c": 1000}
    assert S.Proportional(cap=500).rates(TASKS) == {"t/a": 100, "t/b": 400, "t/c": 500}
    # scale, then cap, then temperature
    got = S.Proportional(cap=500, scale=2.0, temperature=2.0).rates(TASKS)
    assert got == {"t/a": math.sqrt(200), "t/b": math.sqrt(500), "t/c": math.sqrt(500)}


def test_family_uniform_golden():
    assert S.FamilyUniform().rates(TASKS) == pytest.approx({"t/a": 0.1, "t/b": 0.4, "t/c": 0.5}, abs=1e-15)
    assert S.FamilyUniform(cap=300).rates(TASKS) == pytest.approx({"t/a": 0.125, "t/b": 0.375, "t/c": 0.5}, abs=1e-15)


def test_family_uniform_keeps_mnli_anli_ratio():
    mnli, anli = make_task("x/mnli", 392_702, "NLI"), make_task("x/anli", 162_865, "NLI")
    rates = S.FamilyUniform().rates([mnli, anli, make_task("x/sum", 10, "SUM")])
    assert rates["x/mnli"] / rates["x/anli"] == pytest.approx(2.41, abs=0.01)
    assert rates["x/sum"] == 0.5


def test_uniform_temperature_explicit_golden():
    assert S.Uniform().rates(TASKS) == {"t/a": 1.0, "t/b": 1.0, "t/c": 1.0}
    assert S.Temperature(temperature=2.0).rates(TASKS) == {"t/a": 10.0, "t/b": 20.0, "t/c": math.sqrt(1000)}
    assert S.Temperature(temperature=2.0, cap=400).rates(TASKS)["t/c"] == 20.0
    assert S.Explicit(weights={"t/a": 1, "t/b": 0, "t/c": 3}).rates(TASKS) == {"t/a": 1.0, "t/b": 0.0, "t/c": 3.0}


def test_temperature_is_proportional_with_scale_1():
    for temperature, cap in ((2.0, None), (3.33, 400), (0.5, 150)):
        spec = {"kind": "temperature", "temperature": temperature} | ({} if cap is None else {"cap": cap})
        strategy = S.make_strategy(spec)
        assert isinstance(strategy, S.Proportional) and strategy.kind == "temperature"
        assert strategy.rates(TASKS) == S.Proportional(cap=cap, temperature=temperature).rates(TASKS)
        assert strategy.to_dict() == {"kind": "temperature", "cap": cap, "temperature": temperature}
        assert S.make_strategy(strategy.to_dict()) == strategy
    assert S.Temperature(temperature=2.0) != S.Proportional(temperature=2.0)  # their spec kinds differ
    with pytest.raises(MixtureSpecError, match=r"temperature strategy: unknown parameter\(s\) \['scale'\]; "
                                               r"allowed: \['cap', 'temperature'\]"):
        S.make_strategy({"kind": "temperature", "temperature": 2.0, "scale": 2.0})
    with pytest.raises(MixtureSpecError, match=r"temperature strategy: .*missing 1 required keyword-only argument: "
                                               r"'temperature'"):
        S.make_strategy({"kind": "temperature"})
    with pytest.raises(MixtureSpecError, match=r"temperature strategy: temperature must be finite and > 0, got 0; "
                                               r"use e.g. temperature: 3.33"):
        S.Temperature(temperature=0)
    assert S.parameters(S.Temperature) == ["cap", "temperature"]
    assert S.parameters(S.Proportional) == ["cap", "scale", "temperature"]


def test_one_finite_number_check():
    import numpy as np

    from mixlab._checks import is_finite_number

    assert [is_finite_number(v) for v in (0, 2.5, np.float32(1), np.int64(3), 10**30)] == [True] * 5
    assert [is_finite_number(v) for v in (-1, float("nan"), float("inf"), True, "1", None)] == [False] * 6
    assert not is_finite_number(0.0, positive=True) and is_finite_number(1e-300, positive=True)
    # every caller keeps its own message
    with pytest.raises(MixtureSpecError, match=r"weight of 't/a' is True; weights must be finite numbers >= 0"):
        Mixture.of([(A, True)], name="m")
    with pytest.raises(MixtureSpecError, match=r"rmix R must be a finite number >= 0 \(ExT5 used 2\), got nan"):
        Mixture.rmix(A, B, float("nan"), name="m")
    with pytest.raises(MixtureSpecError, match=r"rate of 't/a' is -1; rates must be finite and >= 0"):
        S.check_rates({"t/a": -1}, "m")
    with pytest.raises(MixtureSpecError, match=r"unimax strategy: budget must be a number, got '5'"):
        S.UniMax(budget="5")
    assert Mixture.of([(A, np.float64(1.0)), (B, np.int64(3))], name="m").probabilities == {"t/a": 0.25, "t/b": 0.75}


def test_unimax_golden():
    assert S.UniMax(budget=1500).rates(TASKS) == {"t/a": 100.0, "t/b": 400.0, "t/c": 1000.0}
    # a: min(900/3, 2*100)=200; b: min(700/2, 800)=350; c: min(350/1, 2000)=350
    assert S.UniMax(budget=900, max_epochs=2).rates(TASKS) == {"t/a": 200.0, "t/b": 350.0, "t/c": 350.0}
    # budget larger than every task's max epochs: the surplus is left over
    assert S.UniMax(budget=10_000).rates(TASKS) == {"t/a": 100.0, "t/b": 400.0, "t/c": 1000.0}


def test_capped_size_and_to_dict():
    assert S.Proportional(cap=500).capped_size(C) == 500
    assert S.Proportional().capped_size(C) == 1000
    assert S.Proportional(cap=300000).to_dict() == {"kind": "proportional", "cap": 300000, "scale": 1.0,
                                                    "temperature": 1.0}
    assert S.make_strategy({"kind": "unimax", "budget": 10}) == S.UniMax(budget=10)


@pytest.mark.parametrize(("spec", "match"), [
    ({"kind": "proportional", "cap": 0}, r"cap must be finite and > 0.*0 does not mean 'no cap'"),
    ({"kind": "proportional", "cap": -5}, r"cap must be finite and > 0"),
    ({"kind": "proportional", "temperature": float("nan")}, r"temperature must be finite"),
    ({"kind": "temperature"}, r"temperature strategy: .*temperature"),
    ({"kind": "family_uniform", "cap": float("inf")}, r"family_uniform strategy: cap"),
    ({"kind": "explicit", "weights": {"t/a": -1}}, r"rate of 't/a' is -1"),
    ({"kind": "explicit", "weights": {"t/a": 0}}, r"every rate is zero"),
    ({"kind": "unimax", "budget": 0}, r"unimax strategy: budget must be finite and > 0"),
    ({"kind": "zipf"}, r"unknown strategy kind 'zipf'; choose one of \['explicit'"),
    ({"kind": "uniform", "cap": 3}, r"uniform strategy: unknown parameter\(s\) \['cap'\]"),
    ({"cap": 3}, r"strategy must be a mapping with a 'kind'"),
])
def test_bad_strategies(spec, match):
    with pytest.raises(MixtureSpecError, match=match):
        S.make_strategy(spec)


def test_explicit_weights_must_cover_tasks():
    with pytest.raises(MixtureSpecError, match=r"no weight for \['t/c'\]"):
        S.Explicit(weights={"t/a": 1, "t/b": 1}).rates(TASKS)
    with pytest.raises(MixtureSpecError, match=r"weights name tasks not in the mixture: \['t/zzz'\]"):
        S.Explicit(weights={"t/a": 1, "t/b": 1, "t/c": 1, "t/zzz": 1}).rates(TASKS)


# ----------------------------------------------------------------------------- properties
sizes = st.lists(st.integers(min_value=1, max_value=10**7), min_size=1, max_size=25)
families = st.lists(st.sampled_from(["A", "B", "C", "D"]), min_size=25, max_size=25)


def tasks_of(ns, fams=None):
    return [make_task(f"p/t{i:02d}", n, (fams or ["A"] * len(ns))[i]) for i, n in enumerate(ns)]


def check_probabilities(tasks, strategy):
    mix = Mixture.from_strategy(tasks, strategy, name="prop")
    probs = mix.probabilities
    assert all(p >= 0 for p in probs.values())
    assert math.fsum(probs.values()) == pytest.approx(1.0, abs=1e-12)
    assert list(probs) == sorted(probs)
    return mix


@given(sizes, st.none() | st.integers(1, 10**6), st.floats(0.5, 10.0))
def test_proportional_properties(ns, cap, temperature):
    tasks = tasks_of(ns)
    strategy = S.Proportional(cap=cap, temperature=temperature)
    rates = strategy.rates(tasks)
    if cap is not None:
        assert all(r <= cap ** (1 / temperature) * (1 + 1e-12) for r in rates.values())
        capped = [t for t in tasks if t.num_train >= cap]
        assert len({rates[t.name] for t in capped}) <= 1  # capped tasks share one rate
    check_probabilities(tasks, strategy)


@given(sizes, families, st.none() | st.integers(1, 10**6))
def test_family_uniform_properties(ns, fams, cap):
    tasks = tasks_of(ns, fams)
    mix = check_probabilities(tasks, S.FamilyUniform(cap=cap))
    totals = list(mix.families.values())
    assert totals == pytest.approx([1 / len(totals)] * len(totals), rel=1e-9)


@given(sizes, st.floats(1.0, 20.0))
def test_temperature_and_uniform_properties(ns, temperature):
    tasks = tasks_of(ns)
    check_probabilities(tasks, S.Temperature(temperature=temperature))
    mix = check_probabilities(tasks, S.Uniform())
    assert list(mix.probabilities.values()) == pytest.approx([1 / len(tasks)] * len(tasks))


@given(sizes, st.floats(1.0, 1e8), st.floats(0.1, 10.0))
def test_unimax_properties(ns, budget, max_epochs):
    tasks = tasks_of(ns)
    strategy = S.UniMax(budget=budget, max_epochs=max_epochs)
    alloc = strategy.rates(tasks)
    for t in tasks:
        assert alloc[t.name] <= max_epochs * t.num_train * (1 + 1e-12)
    spendable = min(budget, sum(max_epochs * t.num_train for t in tasks))
    assert math.fsum(alloc.values()) == pytest.approx(spendable, rel=1e-9)
    # uniform where no epoch cap binds: uncapped tasks share one allocation
    uncapped = [alloc[t.name] for t in tasks if alloc[t.name] < max_epochs * t.num_train * (1 - 1e-9)]
    assert max(uncapped, default=0) - min(uncapped, default=0) <= 1e-6 * max(uncapped, default=1)
    check_probabilities(tasks, strategy)
