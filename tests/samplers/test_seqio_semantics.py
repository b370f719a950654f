"""Mixture composition against seqio's own rule, transcribed (no TensorFlow).

``SeqioMixture`` is the rate arithmetic of ``seqio.Mixture`` at google/seqio b898b9f
(seqio/dataset_providers.py): ``__init__`` keeps ``_task_to_rate[name] = rate`` (one rate per name,
the last listed) and appends every sub-mixture listing to ``_sub_mixtures``; ``get_rate`` adds, per
sub-mixture listing containing the task, ``rate(M) * M.get_rate(task) / M.total_rate``, plus the
task's own rate; ``total_rate`` sums ``_task_to_rate``. Sampling normalises ``get_rate`` over tasks.
"""

from __future__ import annotations

import math

import pytest

from mixlab import CallableSource, Mixture, Task


class SeqioMixture:
    def __init__(self, name: str, tasks: list[tuple[object, float]]) -> None:
        self.name = name
        self._task_to_rate: dict[str, float] = {}
        self._tasks: list[str] = []
        self._sub_mixtures: list[SeqioMixture] = []
        for subtask, rate in tasks:
            if isinstance(subtask, SeqioMixture):
                self._sub_mixtures.append(subtask)
                task_name = subtask.name
            else:
                self._tasks.append(str(subtask))
                task_name = str(subtask)
            self._task_to_rate[task_name] = rate

    @property
    def tasks(self) -> list[str]:
        return sorted(set(self._tasks).union(*(m.tasks for m in self._sub_mixtures)))

    @property
    def total_rate(self) -> float:
        return sum(self._task_to_rate.values())

    def get_rate(self, task: str) -> float:
        value = 0.0
        for mix in self._sub_mixtures:
            if task in mix.tasks:
                value += self._task_to_rate[mix.name] * mix.get_rate(task) / mix.total_rate
        if task in self._task_to_rate:
            value += self._task_to_rate[task]
        return value

    def probabilities(self) -> dict[str, float]:
        rates = {t: self.get_rate(t) for t in self.tasks}
        total = sum(rates.values())
        return {t: r / total for t, r in rates.items()}


def make(name: str) -> Task:
    return Task(name=name, family="demo", collection="demo", num_examples={"train": 10},
                source=CallableSource(fn=lambda split: []), formatter=lambda row: row)


A, B, C = make("demo/a"), make("demo/b"), make("demo/c")


def both(seqio_parts, mixlab_parts):
    return SeqioMixture("top", seqio_parts).probabilities(), Mixture.of(mixlab_parts, name="top").probabilities


def approx(mapping):
    return {k: pytest.approx(v, abs=1e-12) for k, v in mapping.items()}


def test_oracle_reproduces_seqios_own_tests():
    another = SeqioMixture("another_mix", [("demo/a", 1), ("demo/b", 1)])
    supermix = SeqioMixture("supermix", [(another, 1), ("demo/c", 1)])
    assert [supermix.get_rate(f"demo/{t}") for t in "abc"] == [0.5, 0.5, 1]
    dupe = SeqioMixture("supermix_with_dupe", [(another, 1), ("demo/a", 1), ("demo/c", 1)])
    assert [dupe.get_rate(f"demo/{t}") for t in "abc"] == [1.5, 0.5, 1]


def test_different_routes_add_up_as_in_seqio():
    inner_s, inner_m = SeqioMixture("inner", [("demo/a", 1), ("demo/b", 3)]), Mixture.of([(A, 1), (B, 3)], name="inner")
    other_s, other_m = SeqioMixture("other", [("demo/a", 2), ("demo/c", 2)]), Mixture.of([(A, 2), (C, 2)], name="other")
    seqio, mixlab = both([(inner_s, 2), ("demo/a", 1), ("demo/c", 0.5)], [(inner_m, 2), (A, 1), (C, 0.5)])
    assert mixlab == approx(seqio) and mixlab == approx({"demo/a": 1.5 / 3.5, "demo/b": 1.5 / 3.5, "demo/c": 0.5 / 3.5})
    seqio, mixlab = both([(inner_s, 1), (other_s, 1)], [(inner_m, 1), (other_m, 1)])
    assert mixlab == approx(seqio) and mixlab == approx({"demo/a": 0.375, "demo/b": 0.375, "demo/c": 0.25})


def test_a_task_listed_twice_seqio_keeps_the_last_weight_mixlab_adds():
    seqio, mixlab = both([("demo/a", 1), ("demo/a", 2), ("demo/b", 1)], [(A, 1), (A, 2), (B, 1)])
    assert seqio == approx({"demo/a": 2 / 3, "demo/b": 1 / 3})   # the documented numbers (docs/mixtures.md)
    assert mixlab == approx({"demo/a": 0.75, "demo/b": 0.25})
    seqio, mixlab = both([("demo/a", 2), ("demo/a", 1), ("demo/b", 1)], [(A, 2), (A, 1), (B, 1)])
    assert seqio == approx({"demo/a": 0.5, "demo/b": 0.5})       # seqio depends on the order; mixlab does not
    assert mixlab == approx({"demo/a": 0.75, "demo/b": 0.25})


def test_a_sub_mixture_listed_twice_seqio_counts_each_listing_at_the_last_weight():
    inner_s, inner_m = SeqioMixture("inner", [("demo/a", 1), ("demo/b", 1)]), Mixture.of([(A, 1), (B, 1)], name="inner")
    seqio, mixlab = both([(inner_s, 1), (inner_s, 2), ("demo/c", 1)], [(inner_m, 1), (inner_m, 2), (C, 1)])
    assert seqio == approx({"demo/a": 0.4, "demo/b": 0.4, "demo/c": 0.2})         # 2 + 2 = 4 parts of 5
    assert mixlab == approx({"demo/a": 0.375, "demo/b": 0.375, "demo/c": 0.25})   # 1 + 2 = 3 parts of 4
    assert math.isclose(seqio["demo/a"] + seqio["demo/b"], 0.8)
    assert math.isclose(mixlab["demo/a"] + mixlab["demo/b"], 0.75)


def test_porting_rule_from_the_docs_gives_seqios_numbers():
    """Keep the last listing; for a sub-mixture, multiply its weight by the number of listings."""
    seqio = SeqioMixture("top", [("demo/a", 1), ("demo/a", 2), ("demo/b", 1)]).probabilities()
    assert Mixture.of([(A, 2), (B, 1)], name="top").probabilities == approx(seqio)
    inner_s, inner_m = SeqioMixture("inner", [("demo/a", 1), ("demo/b", 1)]), Mixture.of([(A, 1), (B, 1)], name="inner")
    seqio = SeqioMixture("top", [(inner_s, 1), (inner_s, 2), ("demo/c", 1)]).probabilities()
    assert Mixture.of([(inner_m, 2 * 2), (C, 1)], name="top").probabilities == approx(seqio)
