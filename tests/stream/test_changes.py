"""Weights that change during a stream: the draws follow the weights in force at each position, and
every change survives a resume (state version 4)."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from scipy import stats

from mixlab import Mixture, MixtureSpecError, ResumeError
from mixlab.stream.schedule import _SCHEDULE_KEY
from tests.samplers.helpers import make_task, take

TASKS = [make_task("c/a", 40), make_task("c/b", 70), make_task("c/c", 25)]
NEW = {"c/a": 0.0, "c/b": 1.0, "c/c": 3.0}


def mix() -> Mixture:
    return Mixture.of([(TASKS[0], 1.0), (TASKS[1], 2.0), (TASKS[2], 3.0)], name="changing")


def oracle_tasks(seed: int, block_size: int, n: int, timeline: list[tuple[int, list[float]]]) -> list[str]:
    """Independent: the task at global position p is the inverse CDF, at the block's p-th uniform draw,
    of the weights in force at p (``timeline`` sorted, first entry at 0)."""
    names, out = ["c/a", "c/b", "c/c"], []
    for p in range(n):
        block, offset = divmod(p, block_size)
        seq = np.random.SeedSequence(entropy=seed, spawn_key=(_SCHEDULE_KEY, block))
        u = np.random.Generator(np.random.PCG64(seq)).random(block_size)[offset]
        weights = np.array([w for start, w in timeline if start <= p][-1], dtype=float)
        cum = np.cumsum(weights / weights.sum())
        out.append(names[min(int(np.searchsorted(cum, u, side="right")), len(names) - 1)])
    return out


def test_draws_follow_the_weights_in_force_at_each_position():
    stream = mix().stream(seed=5, block_size=16)
    stream.set_probabilities([3, 1, 0], at_position=13)  # inside block 0
    stream.set_probabilities(NEW, at_position=32)  # exactly a block start
    stream.set_probabilities([1, 1, 1], at_position=41)
    got = [task for task, _ in take(stream.schedule(), 60)]
    timeline = [(0, [1 / 6, 2 / 6, 3 / 6]), (13, [3, 1, 0]), (32, [0, 1, 3]), (41, [1, 1, 1])]
    assert got == oracle_tasks(5, 16, 60, timeline)
    assert "c/c" not in got[13:32] and "c/a" not in got[32:41]
    assert stream.changes == [(13, {"c/a": 0.75, "c/b": 0.25, "c/c": 0.0}), (32, {"c/a": 0.0, "c/b": 0.25,
                                                                                  "c/c": 0.75}),
                              (41, {"c/a": 1 / 3, "c/b": 1 / 3, "c/c": 1 / 3})]


def test_unchanged_weights_and_a_change_to_the_same_weights_give_the_same_stream():
    plain = take(mix().stream(seed=1), 300)
    same = mix().stream(seed=1)
    same.set_probabilities(mix().probabilities, at_position=100)
    assert take(same, 300) == plain


def test_examples_stay_unique_within_an_epoch_across_changes():
    """Counts carry over a change: each task still serves a fresh permutation of its rows per epoch."""
    stream = mix().stream(seed=3, block_size=32)
    for k, at in enumerate(range(10, 200, 17)):
        stream.set_probabilities(np.roll([1.0, 2.0, 5.0], k), at_position=at)
    served: dict[str, list[int]] = {}
    for ex in take(stream, 400):
        served.setdefault(ex["task"], []).append(ex["index"])
    for task in TASKS:
        indices, n = served[task.name], task.num_train
        for epoch in range(len(indices) // n):
            assert sorted(indices[epoch * n:(epoch + 1) * n]) == list(range(n))


def test_tail_follows_the_new_weights_chi_square():
    big = [make_task(f"x/{k}", 100_000) for k in range(3)]
    stream = Mixture.of([(t, 1.0) for t in big], name="big").stream(seed=0)
    stream.set_probabilities([0.1, 0.3, 0.6], at_position=5000)
    tasks = [t for t, _ in take(stream.schedule(), 45_000)]
    before, after = Counter(tasks[:5000]), Counter(tasks[5000:])
    assert stats.chisquare([before[f"x/{k}"] for k in range(3)]).pvalue > 1e-3
    observed = [after[f"x/{k}"] for k in range(3)]
    assert stats.chisquare(observed, np.array([0.1, 0.3, 0.6]) * 40_000).pvalue > 1e-3


def changed_stream(exhaustion: str = "repeat", shard=(0, 1), block_size: int = 16):
    stream = mix().stream(seed=9, shard=shard, exhaustion=exhaustion, block_size=block_size)
    stream.set_probabilities([1, 0, 1], at_position=11)
    stream.set_probabilities([0.2, 5, 1], at_position=40)
    return stream


@pytest.mark.parametrize(("exhaustion", "shard"), [("repeat", (0, 1)), ("repeat", (1, 3)), ("all", (0, 1)),
                                                   ("first", (1, 2))])
def test_the_state_carries_the_changes_resume_at_every_position(exhaustion, shard):
    full = take(changed_stream(exhaustion, shard), 90)
    for k in range(len(full) + 1):
        stream = changed_stream(exhaustion, shard)
        assert take(stream, k) == full[:k]
        state = json.loads(json.dumps(stream.state_dict()))
        resumed = mix().stream(seed=9, shard=shard, exhaustion=exhaustion, block_size=16)  # knows no change
        resumed.load_state_dict(state)
        assert take(resumed, 90 - k) == full[k:], f"resume after {k} examples diverged"


def test_all_policy_serves_every_example_once_with_changes():
    stream = mix().stream(seed=2, exhaustion="all", block_size=32)
    stream.set_probabilities([5, 1, 1], at_position=30)
    stream.set_probabilities([1, 1, 5], at_position=77)
    served = Counter((ex["task"], ex["index"]) for ex in stream)
    assert sorted(served) == sorted((t.name, i) for t in TASKS for i in range(t.num_train))
    assert set(served.values()) == {1}


def test_all_policy_ends_when_every_live_task_has_weight_zero():
    stream = mix().stream(seed=2, exhaustion="all")
    stream.set_probabilities([0, 0, 1], at_position=0)
    assert Counter(ex["task"] for ex in stream) == {"c/c": 25}


def test_a_change_while_iterating_takes_effect_at_the_next_example():
    """A live change (no at_position) drops what was formatted ahead and follows the oracle exactly."""
    reference = mix().stream(seed=4, block_size=64)
    reference.set_probabilities(NEW, at_position=37)
    expected = take(reference, 150)
    live = mix().stream(seed=4, block_size=64)
    it = iter(live)
    head = take(it, 37)
    assert live.position == 37
    live.set_probabilities(NEW)
    assert head + take(it, 113) == expected
    state = live.state_dict()
    assert state["changes"] == [] and state["probabilities"] == [0.0, 0.25, 0.75]  # in force at block 2's start


def test_a_change_ahead_of_an_iterator_is_reached_exactly():
    live = mix().stream(seed=4, block_size=64)
    it = iter(live)
    head = take(it, 10)
    live.set_probabilities(NEW, at_position=100)
    reference = mix().stream(seed=4, block_size=64)
    reference.set_probabilities(NEW, at_position=100)
    assert head + take(it, 190) == take(reference, 200)


def test_refuses_changes_before_the_served_position_and_bad_weights():
    stream = changed_stream()
    take(iter(stream), 20)
    assert stream.position == 20
    with pytest.raises(MixtureSpecError, match=r"has served up to global position 20; a weight change at 19 would "
                                               r"rewrite served examples; fix: pass at_position >= 20"):
        stream.set_probabilities([1, 1, 1], at_position=19)
    with pytest.raises(MixtureSpecError, match=r"2 new probabilities for 3 tasks"):
        stream.set_probabilities([1, 1])
    with pytest.raises(MixtureSpecError, match=r"unknown tasks \['c/z'\] or miss \['c/c'\]"):
        stream.set_probabilities({"c/a": 1, "c/b": 1, "c/z": 1})
    for bad in ([0, 0, 0], [1, -1, 1], [1, float("nan"), 1], [1, True, 1]):
        with pytest.raises(MixtureSpecError, match=r"finite numbers >= 0, not all 0"):
            stream.set_probabilities(bad)


def test_state_stays_small_with_many_changes():
    stream = mix().stream(seed=0, block_size=64)
    it = iter(stream)
    sizes = []
    for k in range(200):
        take(it, 13)
        stream.set_probabilities(np.roll([1.0, 2.0, 3.0], k))
        sizes.append(len(json.dumps(stream.state_dict())))
    assert max(sizes) < 2 * min(sizes)  # the changes before the block start are folded into "probabilities"


def test_with_changes_adds_later_changes_to_an_older_state():
    """What a batch iterator needs: the state it took before a change learns of the change."""
    stream = mix().stream(seed=6, block_size=32)
    it = iter(stream)
    take(it, 30)
    older = json.loads(json.dumps(stream.state_dict()))
    take(it, 20)
    stream.set_probabilities(NEW, at_position=70)
    expected = take(it, 100)
    resumed = mix().stream(seed=6, block_size=32)
    resumed.load_state_dict(stream.with_changes(older))
    assert take(resumed, 120)[20:] == expected
    with pytest.raises(ResumeError, match=r"no valid weights timeline"):
        mix().stream(seed=6, block_size=32).load_state_dict({**older, "changes": [[40, [1, 1, 1]], [35, [1, 0, 1]]]})


@pytest.mark.parametrize(("exhaustion", "shard"), [("repeat", (0, 1)), ("repeat", (2, 3)), ("all", (1, 2)),
                                                   ("first", (0, 1))])
def test_live_changes_equal_changes_set_in_advance(exhaustion, shard):
    """Changes made while iterating (re-using the planned part of the block before them) give the stream
    that the same changes set before iterating give."""
    rng = np.random.default_rng(11)
    live = mix().stream(seed=8, shard=shard, exhaustion=exhaustion, block_size=32)
    it, got, timeline = iter(live), [], []
    for _ in range(12):
        got += take(it, int(rng.integers(0, 9)))
        at = live.position + int(rng.integers(0, 20))
        weights = rng.dirichlet(np.ones(3)).tolist()
        live.set_probabilities(weights, at_position=at)
        timeline.append((at, weights))
    got += take(it, 60)
    ahead = mix().stream(seed=8, shard=shard, exhaustion=exhaustion, block_size=32)
    for at, weights in timeline:
        ahead.set_probabilities(weights, at_position=at)
    assert got == take(ahead, len(got))
