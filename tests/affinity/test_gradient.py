"""TAG-style gradient affinity on a tiny T5 whose task relations are built in."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from mixlab import ConfigError  # noqa: E402
from mixlab.affinity import compare, gradient_affinity, negative_transfer, transfer_graph  # noqa: E402

VOCAB = 16


def _task(output_offset: int, data_seed: int, mapping_seed: int):
    """Inputs are tokens 3..8; targets map each token through a fixed permutation into
    ``output_offset .. output_offset + 5``. Same mapping seed and offset = the same task."""
    table = torch.randperm(6, generator=torch.Generator().manual_seed(mapping_seed)) + output_offset

    def batch(step: int) -> dict:
        inputs = torch.randint(3, 9, (8, 5), generator=torch.Generator().manual_seed(data_seed * 1000 + step))
        return {"input_ids": inputs, "labels": table[inputs - 3]}

    return batch


@pytest.fixture(scope="module")
def built_in():
    torch.set_num_threads(1)
    # a and b: the same mapping on different samples; c: another mapping onto other tokens
    return {"a": _task(3, 1, 7), "b": _task(3, 2, 7), "c": _task(9, 3, 8)}


@pytest.fixture(scope="module")
def affinity(built_in):
    return gradient_affinity(built_in, num_steps=3, vocab_size=VOCAB, seed=0)


def test_related_tasks_have_higher_affinity(affinity):
    z = {(s, t): d["score"] for s, t, d in affinity.edges(data=True)}
    assert z["a", "b"] > 0 > z["a", "c"]
    assert z["b", "a"] > 0 > z["b", "c"]
    assert z["c", "a"] < 0 and z["c", "b"] < 0
    assert sorted(negative_transfer(affinity)["tag"]) == [("a", "c"), ("b", "c"), ("c", "a"), ("c", "b")]


def test_graph_layout(affinity):
    assert affinity.graph["kind"] == "gradient" and affinity.graph["budgets"] == ["tag"]
    assert list(affinity.nodes) == ["a", "b", "c"]
    assert affinity.nodes["a"]["baseline"] == {} and affinity.nodes["a"]["self_affinity"] > 0
    assert all(d["gain"] == {"tag": d["score"]} for _, _, d in affinity.edges(data=True))


def test_deterministic_and_leaves_global_rng_alone(built_in, affinity):
    state = torch.random.get_rng_state()
    again = gradient_affinity(built_in, num_steps=3, vocab_size=VOCAB, seed=0)
    assert torch.equal(state, torch.random.get_rng_state())
    assert sorted(again.edges(data="score")) == sorted(affinity.edges(data="score"))


def test_compare_with_cotraining_results(affinity):
    rows = [{"source": n, "target": n, "score": 10.0, "budget": "base"} for n in "abc"]
    scores = {("a", "b"): 13, ("b", "a"): 12, ("a", "c"): 9, ("b", "c"): 8, ("c", "a"): 7, ("c", "b"): 6}
    rows += [{"source": s, "target": t, "score": v, "budget": "co"} for (s, t), v in scores.items()]
    result = compare(transfer_graph(rows), affinity)
    assert result.num_edges == 6
    assert result.spearman > 0.5 and result.kendall > 0.3


def test_needs_two_tasks(built_in):
    with pytest.raises(ConfigError, match=r"at least 2 tasks, got \['a'\]"):
        gradient_affinity({"a": built_in["a"]})
