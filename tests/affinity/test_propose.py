"""Proposed mixtures: ExT5 best-effort and graded rules, with registries and explicit mappings."""

from __future__ import annotations

import pytest

from mixlab import CallableSource, ConfigError, DataError, Registry, Task, TaskNotFoundError

pytest.importorskip("mixlab.samplers", reason="mixlab.samplers (Mixture) is not importable yet")


def _task(name: str, n: int, tag: str) -> Task:
    return Task(name=name, family=tag, collection="tiny", num_examples={"train": n}, tags=frozenset({tag}),
                source=CallableSource(fn=lambda split: []), formatter=lambda row: row)


@pytest.fixture
def registry() -> Registry:
    # A: 2 tasks, B: 1 task (capped at 300k), C: 1 task
    return Registry.from_tasks([_task("tiny/a1", 100, "A"), _task("tiny/a2", 300, "A"),
                                _task("tiny/b1", 500_000, "B"), _task("tiny/c1", 50, "C")])


def test_best_effort_keeps_top_k_and_mixes_proportionally(hand_graph, registry):
    from mixlab.affinity import propose_mixture

    # average gains: B +12.1%, A 0%, C -12.1%
    mixture = propose_mixture(hand_graph, registry, k=2)
    assert mixture.name == "affinity-best_effort-top2"
    total = 100 + 300 + 300_000
    assert mixture.probabilities == pytest.approx({"tiny/a1": 100 / total, "tiny/a2": 300 / total,
                                           "tiny/b1": 300_000 / total})
    top1 = propose_mixture(hand_graph, registry, k=1, cap=None)
    assert top1.probabilities == {"tiny/b1": 1.0}


def test_graded_weights_families_by_positive_gain(hand_graph, registry, hand_rows):
    from mixlab.affinity import propose_mixture, transfer_graph

    # only B has a positive gain in the hand graph
    assert propose_mixture(hand_graph, registry, rule="graded", k=None).probabilities == {"tiny/b1": 1.0}
    # make A positive too: raise A -> C from 36 to 52 (A: mean(.1, (52-48)/48), B: mean(1.5/10.5, (44-48)/48))
    rows = [dict(r, score=52) if (r["source"], r["target"]) == ("A", "C") else r for r in hand_rows]
    graph = transfer_graph(rows)
    gain_a, gain_b = 100 * (0.1 + 4 / 48) / 2, 100 * (1.5 / 10.5 - 4 / 48) / 2
    mixture = propose_mixture(graph, registry, rule="graded", k=None, name="graded")
    share_a, share_b = gain_a / (gain_a + gain_b), gain_b / (gain_a + gain_b)
    assert mixture.probabilities == pytest.approx({"tiny/a1": share_a * 0.25, "tiny/a2": share_a * 0.75,
                                                   "tiny/b1": share_b})
    assert mixture.families == pytest.approx({"A": share_a, "B": share_b})


def test_explicit_mapping_and_task_nodes(hand_graph, registry):
    from mixlab.affinity import propose_mixture

    mapping = {"A": ["tiny/a1"], "B": [registry.get("tiny/c1")], "C": ["tiny/a2"]}
    assert propose_mixture(hand_graph, mapping, k=1, registry=registry).probabilities == {"tiny/c1": 1.0}
    with pytest.raises(DataError, match=r"families_to_tasks has no entry for node 'B'; it has \['A'\]"):
        propose_mixture(hand_graph, {"A": ["tiny/a1"]}, k=1, registry=registry)
    # nodes that are task names
    with pytest.raises(TaskNotFoundError, match="no task named 'B'"):
        propose_mixture(hand_graph, None, k=1, registry=registry)


def test_bad_proposals(hand_graph, registry):
    from mixlab.affinity import propose_mixture

    with pytest.raises(ConfigError, match=r"unknown rule 'best'; choose one of \['best_effort', 'graded'\]"):
        propose_mixture(hand_graph, registry, rule="best")
    with pytest.raises(ConfigError, match=r"k=4 sources requested but 3 are ranked"):
        propose_mixture(hand_graph, registry, k=4)
    with pytest.raises(DataError, match=r"no task in the registry is tagged 'B'"):
        propose_mixture(hand_graph, Registry.from_tasks([_task("tiny/x", 1, "A")]), k=1)


def test_table2_best_effort_is_the_ext5_choice(table2):
    from mixlab.affinity import propose_mixture

    tasks = [_task(f"tiny/{code.lower()}{i}", 1000 * (i + 1), code) for code in
             ("SUM", "DLG", "NLI", "CLS", "SEM", "CMNS", "CBQA", "RC") for i in range(3)]
    mixture = propose_mixture(table2, Registry.from_tasks(tasks), k=4)
    assert sorted(mixture.families) == ["CBQA", "CLS", "CMNS", "NLI"]
    assert mixture.families == pytest.approx({f: 0.25 for f in mixture.families})
    assert len(mixture.probabilities) == 12
