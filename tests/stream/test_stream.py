"""MixtureStream: determinism, rates (chi-square), shards, exhaustion policies, exact resume."""

from __future__ import annotations

import itertools
import json
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from mixlab import CallableSource, DataError, Mixture, MixtureSpecError, ResumeError
from mixlab.samplers import strategies as S
from mixlab.stream import MixtureStream
from mixlab.stream.permutation import domain_bits
from mixlab.stream.permutation import permute as _permute
from mixlab.stream.schedule import _GuidedInverseCdf, _inverse_cdf
from tests.samplers.helpers import assert_resumes_at_every_position, make_task, take

TINY = [make_task("s/a", 2), make_task("s/b", 3), make_task("s/c", 5)]
TEXT = make_task("s/text", 4, self_supervised=True)


def tiny_mix():
    return Mixture.of([(TINY[0], 1.0), (TINY[1], 2.0), (TINY[2], 3.0)], name="tiny")


def big_mix():
    sizes = {"b/a": 50_000, "b/b": 120_000, "b/c": 7, "b/d": 300_000, "b/e": 1_000}
    return Mixture.from_strategy([make_task(n, s) for n, s in sizes.items()], S.Proportional(cap=100_000), name="big")


def test_examples_and_golden_schedule():
    stream = Mixture.of([(TINY[0], 1.0), (TEXT, 1.0)], name="m").stream(seed=7)
    examples = take(iter(stream), 4)
    assert examples[0].keys() in ({"task", "index", "inputs", "targets"}, {"task", "index", "text"})
    for ex in examples:
        expected = f"s/a:{ex['index']}" if ex["task"] == "s/a" else f"text s/text:{ex['index']}"
        assert ex.get("inputs", ex.get("text")) == expected
    # pinned: the same seed gives the same stream on any machine
    assert take(tiny_mix().stream(seed=123).schedule(), 12) == GOLDEN_123


GOLDEN_123 = [("s/b", 2), ("s/c", 3), ("s/c", 4), ("s/c", 0), ("s/b", 1), ("s/c", 2), ("s/c", 1), ("s/c", 0),
              ("s/b", 0), ("s/b", 1), ("s/a", 0), ("s/b", 0)]


def test_same_seed_same_stream_and_seeds_differ():
    a = take(big_mix().stream(seed=1).schedule(), 5000)
    assert a == take(big_mix().stream(seed=1).schedule(), 5000)
    assert a != take(big_mix().stream(seed=2).schedule(), 5000)


def test_schedule_does_not_advance_or_touch_data():
    def boom(split):
        raise AssertionError("schedule() must not load data")

    mix = Mixture.of([(make_task("s/boom", 3).model_copy(update={"source": CallableSource(fn=boom)}), 1.0)],
                     name="m")
    stream = mix.stream(seed=0)
    first = take(stream.schedule(), 5)
    assert take(stream.schedule(), 5) == first
    assert stream.state_dict()["offset"] == 0


def test_chi_square_matches_rates():
    mix = big_mix()
    counts = Counter(name for name, _ in itertools.islice(mix.stream(seed=3).schedule(), 1_000_000))
    observed = [counts[n] for n in mix.probabilities]
    expected = [p * 1_000_000 for p in mix.probabilities.values()]
    assert stats.chisquare(observed, expected).pvalue > 1e-3


def test_shards_are_disjoint_slices_and_follow_rates():
    mix = big_mix()
    whole = take(mix.stream(seed=5).schedule(), 30_000)
    shards = [take(mix.stream(seed=5, shard=(r, 3)).schedule(), 10_000) for r in range(3)]
    for r in range(3):
        assert shards[r] == whole[r::3]
    served = [pair for shard in shards for pair in shard if pair[0] != "b/c"]  # b/c (7 examples) repeats
    assert len(served) == len(set(served))
    counts = Counter(name for name, _ in shards[1])
    p = stats.chisquare([counts[n] for n in mix.probabilities], [q * 10_000 for q in mix.probabilities.values()]).pvalue
    assert p > 1e-3


def test_all_policy_serves_every_example_once_across_shards():
    pairs = [pair for r in range(4) for pair in tiny_mix().stream(seed=9, shard=(r, 4), exhaustion="all").schedule()]
    assert sorted(pairs) == sorted((t.name, i) for t in TINY for i in range(t.num_train))


def test_first_policy_stops_when_a_task_runs_out():
    for seed in range(20):
        pairs = list(tiny_mix().stream(seed=seed, exhaustion="first", block_size=4).schedule())
        counts = Counter(name for name, _ in pairs)
        last = pairs[-1][0]
        assert counts[last] == {t.name: t.num_train for t in TINY}[last]  # the last example exhausts its task
        assert all(counts[t.name] <= t.num_train for t in TINY)
        assert len(set(pairs)) == len(pairs)


def test_repeat_policy_reshuffles_each_epoch():
    pairs = take(tiny_mix().stream(seed=4).schedule(), 600)
    orders = []
    for task in TINY:
        indices = [i for name, i in pairs if name == task.name]
        n = task.num_train
        epochs = [tuple(indices[k:k + n]) for k in range(0, len(indices) - n + 1, n)]
        assert all(sorted(e) == list(range(task.num_train)) for e in epochs)
        orders.append(len(set(epochs)))
    assert min(orders) > 1  # different permutations in different epochs


def test_permutation_is_a_bijection():
    for n in (1, 2, 3, 4, 5, 7, 64, 65, 1000, 4097, 65_537):
        offsets = np.arange(n, dtype=np.uint64)
        full = np.full(n, n, dtype=np.uint64)
        key, epoch = np.full(n, 99, dtype=np.uint64), np.full(n, 3, dtype=np.uint64)
        out = _permute(offsets, full, domain_bits(full), key, epoch)
        assert sorted(out.tolist()) == list(range(n))


@settings(max_examples=60, deadline=None)
@given(weights=st.lists(st.one_of(st.just(0.0), st.floats(1e-9, 1e6)), min_size=1, max_size=300)
       .filter(lambda w: sum(w) > 0), seed=st.integers(0, 2**32 - 1))
def test_guided_inverse_cdf_is_exactly_searchsorted(weights, seed):
    cum = np.cumsum(weights)
    cum /= cum[-1]
    guided = _GuidedInverseCdf(cum)
    scale = guided._scale
    u = np.concatenate([np.random.default_rng(seed).random(2000), np.arange(int(scale)) / scale, cum[cum < 1],
                        np.nextafter(cum[cum < 1], 0), np.nextafter(cum[cum < 1], 1)])
    u = u[(u >= 0) & (u < 1)]
    assert np.array_equal(guided(u), _inverse_cdf(cum, u))  # bucket edges and every boundary included


@pytest.mark.parametrize("n", [10, 20, 300])  # even and odd numbers of bits
def test_permutation_first_element_is_uniform_over_epochs(n):
    epochs = 500 * n if n < 100 else 30_000
    sizes = np.full(epochs, n, dtype=np.uint64)
    out = _permute(np.zeros(epochs, dtype=np.uint64), sizes, domain_bits(sizes), np.full(epochs, 7, dtype=np.uint64),
                   np.arange(epochs, dtype=np.uint64))
    assert stats.chisquare(np.bincount(out.astype(np.int64), minlength=n)).pvalue > 1e-3


@pytest.mark.parametrize("exhaustion", ["repeat", "first", "all"])
@pytest.mark.parametrize("shard", [(0, 1), (1, 2)])
def test_resumes_at_every_position(exhaustion, shard):
    # block_size 4 makes positions cross block boundaries; tasks of 2-5 examples cross epoch boundaries
    assert_resumes_at_every_position(
        lambda: tiny_mix().stream(seed=11, shard=shard, exhaustion=exhaustion, block_size=4),
        n=25, finite=exhaustion != "repeat")


def test_state_size_is_constant():
    stream = big_mix().stream(seed=0, block_size=64)
    it = iter(stream)
    sizes = set()
    for _ in range(10):
        take(it, 500)
        state = stream.state_dict()
        assert len(state["counts"]) == 5
        sizes.add(len(json.dumps(state)) // 10)
    assert len(sizes) <= 2  # only the digits of the counters grow


def test_refuses_mismatched_state():
    state = tiny_mix().stream(seed=1).state_dict()
    with pytest.raises(ResumeError, match=r"saved seed is 1 but this one has 2"):
        tiny_mix().stream(seed=2).load_state_dict(state)
    with pytest.raises(ResumeError, match=r"saved shard is \[0, 1\] but this one has \[1, 2\]"):
        tiny_mix().stream(seed=1, shard=(1, 2)).load_state_dict(state)
    with pytest.raises(ResumeError, match=r"saved exhaustion is 'repeat'"):
        tiny_mix().stream(seed=1, exhaustion="all").load_state_dict(state)
    other = Mixture.of([(TINY[0], 1.0), (TINY[1], 2.0), (TINY[2], 4.0)], name="tiny")
    with pytest.raises(ResumeError, match=r"saved mixture_fingerprint"):
        other.stream(seed=1).load_state_dict(state)
    with pytest.raises(ResumeError, match=r"mixlab.stream state has version 0, this mixlab reads version 4"):
        tiny_mix().stream(seed=1).load_state_dict({**state, "version": 0})


def test_bad_stream_arguments_and_data():
    mix = tiny_mix()
    with pytest.raises(MixtureSpecError, match=r"shard must be \(rank, world_size\)"):
        mix.stream(seed=0, shard=(2, 2))
    with pytest.raises(MixtureSpecError, match=r"exhaustion must be one of \['repeat', 'first', 'all'\]"):
        mix.stream(seed=0, exhaustion="never")
    with pytest.raises(MixtureSpecError, match=r"seed must be an integer >= 0"):
        mix.stream(seed=-1)
    with pytest.raises(MixtureSpecError, match=r"data= names tasks not in mixture 'tiny': \['s/zzz'\]"):
        mix.stream(seed=0, data={"s/zzz": []})
    empty = mix.stream(seed=0, data={"s/a": [], "s/b": [{"x": "B"}] * 3, "s/c": [{"x": "C"}] * 5})
    with pytest.raises(DataError, match=r"task 's/a' declares 2 train examples but its data has no rows"):
        take(iter(empty), 50)
    short = mix.stream(seed=0, data={"s/a": [{"x": "A"}], "s/b": [{"x": "B"}] * 3, "s/c": [{"x": "C"}] * 5})
    with pytest.warns(UserWarning, match=r"task 's/a' declares 2 train examples but its data has 1 rows; "
                                         r"example i reads row i mod 1"):
        examples = take(iter(short), 50)
    from_a = [ex for ex in examples if ex["task"] == "s/a"]
    assert from_a and {ex["inputs"] for ex in from_a} == {"A"} and {ex["index"] for ex in from_a} <= {0, 1}
    # the schedule still follows the declared sizes: identical to a stream over full data
    assert [(ex["task"], ex["index"]) for ex in examples] == take(mix.stream(seed=0).schedule(), 50)
    override = mix.stream(seed=0, data={name: [{"x": name.upper()}] * 5 for name in mix.probabilities})
    with pytest.warns(UserWarning, match=r"data has 5 rows but declares [23]; only the first"):
        assert {ex["inputs"] for ex in take(iter(override), 50)} == {"S/A", "S/B", "S/C"}


def test_stream_constructor_matches_method():
    mix = tiny_mix()
    assert take(MixtureStream(mix, seed=3).schedule(), 50) == take(mix.stream(seed=3).schedule(), 50)


def test_formatter_failures_raise_data_error():
    bad = make_task("s/bad", 3).model_copy(update={"formatter": lambda row: {"inputs": 1, "targets": "t"}})
    with pytest.raises(DataError, match=r"task 's/bad': formatter gave inputs of type int, not str"):
        take(iter(Mixture.of([(bad, 1.0)], name="m").stream(seed=0)), 1)
    missing = make_task("s/miss", 3).model_copy(update={"formatter": lambda row: {"inputs": row["nope"]}})
    with pytest.raises(DataError, match=r"task 's/miss': formatter failed on row .*KeyError\('nope'\)"):
        take(iter(Mixture.of([(missing, 1.0)], name="m").stream(seed=0)), 1)
    text = make_task("s/txt", 3, self_supervised=True)
    stream = Mixture.of([(text, 1.0)], name="m").stream(seed=0, data={"s/txt": [{"body": "x"}] * 3})
    with pytest.raises(DataError, match=r"task 's/txt': row has no text column 'text'"):
        take(iter(stream), 1)


def reference_examples(mix, n, **kwargs):
    """Independent oracle: the schedule, formatted one example at a time by Task.format."""
    tasks = mix.tasks
    rows = {name: task.load("train") for name, task in tasks.items()}
    return [{"task": name, "index": index, **tasks[name].format(rows[name][index])}
            for name, index in take(mix.stream(**kwargs).schedule(), n)]


@pytest.mark.parametrize("shard", [(0, 1), (2, 3)])
def test_block_formatting_matches_one_by_one(shard, monkeypatch):
    import mixlab.stream.mixture_stream as ms

    mix = Mixture.of([(TINY[0], 1.0), (TINY[2], 2.0), (TEXT, 1.0)], name="mixed")
    expected = reference_examples(mix, 3000, seed=5, shard=shard, block_size=300)
    assert take(iter(mix.stream(seed=5, shard=shard, block_size=300)), 3000) == expected
    monkeypatch.setattr(ms, "_CHUNK", 7)  # chunks that do not divide blocks; blocks that do not divide by world
    assert take(iter(mix.stream(seed=5, shard=shard, block_size=300)), 3000) == expected
    only_text = Mixture.of([(TEXT, 1.0)], name="text")
    assert take(iter(only_text.stream(seed=1)), 9) == reference_examples(only_text, 9, seed=1)


@pytest.mark.parametrize("exhaustion", ["repeat", "all"])
def test_resumes_across_chunk_and_block_boundaries(exhaustion, monkeypatch):
    import mixlab.stream.mixture_stream as ms

    monkeypatch.setattr(ms, "_CHUNK", 3)
    mix = Mixture.of([(TINY[0], 1.0), (TEXT, 1.0), (TINY[2], 2.0)], name="mixed")
    assert_resumes_at_every_position(lambda: mix.stream(seed=2, shard=(1, 2), exhaustion=exhaustion, block_size=8),
                                     n=13, finite=exhaustion != "repeat")


def test_bad_row_raises_in_place_with_state_past_it():
    rows = [{"x": str(i)} for i in range(40)]
    rows[17] = {"y": "no x"}
    task = make_task("s/rows", 40)
    stream = Mixture.of([(task, 1.0)], name="m").stream(seed=3, data={"s/rows": rows}, exhaustion="first")
    order = [index for _, index in stream.schedule()]
    got = []
    with pytest.raises(DataError, match=r"task 's/rows': formatter failed on row \{'y': 'no x'\}"):
        for example in stream:
            got.append(example["index"])
    assert got == order[:order.index(17)]  # every example before the bad row, in order
    assert stream.state_dict()["offset"] == order.index(17) + 1  # resuming skips the bad row
    assert [ex["index"] for ex in stream] == order[order.index(17) + 1:]


def test_permutation_scalar_tail_and_plan_ahead_change_nothing(monkeypatch):
    import mixlab.stream.schedule as ms
    from mixlab.stream import permutation

    rng = np.random.default_rng(0)
    n = rng.integers(1, 5000, size=3000).astype(np.uint64)
    args = (rng.integers(0, 1 << 62, size=3000).astype(np.uint64) % n, n,
            domain_bits(n),
            rng.integers(0, 1 << 63, size=3000, dtype=np.uint64), rng.integers(0, 9, size=3000).astype(np.uint64))
    monkeypatch.setattr(permutation, "SCALAR_TAIL", 0)
    all_numpy = _permute(*args)
    monkeypatch.setattr(permutation, "SCALAR_TAIL", 10_000)
    assert np.array_equal(_permute(*args), all_numpy)  # everything after the first pass walks in Python
    assert (all_numpy < n).all()
    monkeypatch.setattr(ms, "_PLAN_AHEAD", 1)
    one = take(big_mix().stream(seed=4, block_size=128).schedule(), 3000)
    monkeypatch.setattr(ms, "_PLAN_AHEAD", 5)
    assert take(big_mix().stream(seed=4, block_size=128).schedule(), 3000) == one


def test_a_new_iterator_continues_where_an_abandoned_one_stopped():
    mix = Mixture.of([(TINY[0], 1.0), (TEXT, 1.0)], name="m")
    full = take(iter(mix.stream(seed=9, block_size=16)), 60)
    stream = mix.stream(seed=9, block_size=16)
    first = take(iter(stream), 5)
    second = iter(stream)
    assert first + take(second, 30) == full[:35]
    state = stream.state_dict()
    resumed = mix.stream(seed=9, block_size=16)
    resumed.load_state_dict(state)
    assert take(iter(resumed), 25) == full[35:]


def test_fast_path_refuses_what_task_format_refuses():
    for bad in ("", "   ", None, 3):
        rows = [{"x": f"r{i}"} for i in range(6)]
        task = make_task("s/e", 6).model_copy(update={"formatter": lambda r: {"inputs": r["x"], "targets": r["x"]}})
        rows[4] = {"x": bad}
        stream = Mixture.of([(task, 1.0)], name="m").stream(seed=1, data={"s/e": rows}, exhaustion="first")
        order = [index for _, index in stream.schedule()]
        got = []
        with pytest.raises(DataError, match=r"task 's/e': .*at train row 4"):
            got.extend(ex["index"] for ex in stream)
        assert got == order[:order.index(4)]
    text_rows = [{"text": "a"}, {"text": " \n"}, {"text": "c"}, {"text": "d"}]
    stream = Mixture.of([(TEXT, 1.0)], name="m").stream(seed=0, data={"s/text": text_rows}, exhaustion="first")
    with pytest.raises(DataError, match=r"text column 'text' is empty"):
        list(stream)


def test_mappings_that_are_not_dicts_give_the_same_examples():
    """Rows and formatter outputs that are other mappings (or dict subclasses) leave the C-level fast path
    for ``Task.format``, which accepts them: the examples are the same as with plain dicts."""
    import collections
    import types

    rows = [{"x": f"r{i}"} for i in range(40)]
    task = make_task("s/m", 40)
    mix = Mixture.of([(task, 1.0)], name="m")
    expected = list(mix.stream(seed=2, data={"s/m": rows}, exhaustion="first"))
    proxies = [types.MappingProxyType(r) for r in rows]
    assert list(mix.stream(seed=2, data={"s/m": proxies}, exhaustion="first")) == expected
    ordered = [collections.OrderedDict(r) for r in rows]
    assert list(mix.stream(seed=2, data={"s/m": ordered}, exhaustion="first")) == expected
    for wrap in (collections.OrderedDict, types.MappingProxyType, collections.UserDict):
        odd = task.model_copy(update={"formatter": lambda r, wrap=wrap: wrap(task.formatter(r))})
        stream = Mixture.of([(odd, 1.0)], name="m").stream(seed=2, data={"s/m": rows}, exhaustion="first")
        assert list(stream) == expected


def test_skip_policy_counts_bad_rows_and_refuses_unknown_policies():
    rows = [{"x": f"r{i}"} for i in range(6)]
    rows[2] = {"x": ""}
    mix = Mixture.of([(make_task("s/k", 6), 1.0)], name="m")
    stream = mix.stream(seed=1, data={"s/k": rows}, exhaustion="first", on_bad_row="skip")
    assert sorted(ex["index"] for ex in stream) == [0, 1, 3, 4, 5]
    assert stream.skipped_rows == {"s/k": 1} and stream.state_dict()["skipped"] == {"s/k": 1}
    with pytest.raises(MixtureSpecError, match=r"on_bad_row must be 'error' or 'skip', got 'drop'"):
        mix.stream(seed=1, on_bad_row="drop")


@pytest.mark.parametrize("batched_chunk", [1024, 5])
def test_rows_with_batched_reads_give_the_same_examples(batched_chunk, monkeypatch):
    """Rows that read faster in batches (an HF ``Dataset``) are read with one ``__getitems__`` call per
    task and chunk when the task is drawn more than once there; the examples are the same as from lists,
    for tasks whose data is shorter than declared (cycled) too."""
    import mixlab.stream.mixture_stream as ms

    datasets = pytest.importorskip("datasets")
    monkeypatch.setattr(ms, "_BATCHED_CHUNK", batched_chunk)  # chunks that do not divide blocks, too

    class Counted:  # rows with the __getitems__ protocol (not a list: lists are read in C, one by one)
        calls = 0

        def __init__(self, rows):
            self.rows = rows

        def __len__(self):
            return len(self.rows)

        def __getitem__(self, index):
            return self.rows[index]

        def __getitems__(self, keys):
            Counted.calls += 1
            return [self.rows[k] for k in keys]

    sizes = {"s/big": 5000, "s/small": 30, "s/short": 40}
    tasks = [make_task(name, n) for name, n in sizes.items()]
    mix = Mixture.of([(tasks[0], 50.0), (tasks[1], 1.0), (tasks[2], 1.0)], name="m")
    lists = {name: [{"x": f"{name}:{i}"} for i in range(n if name != "s/short" else 25)] for name, n in sizes.items()}
    with pytest.warns(UserWarning, match="declares 40 train examples but its data has 25 rows"):
        expected = take(iter(mix.stream(seed=3, data=lists)), 3000)
    with pytest.warns(UserWarning, match="declares 40"):
        hf = {name: datasets.Dataset.from_list(rows) for name, rows in lists.items()}
        assert take(iter(mix.stream(seed=3, data=hf)), 3000) == expected
    with pytest.warns(UserWarning, match="declares 40"):
        counted = {name: Counted(rows) if name != "s/small" else rows for name, rows in lists.items()}
        assert take(iter(mix.stream(seed=3, data=counted)), 3000) == expected
    assert 0 < Counted.calls < 3000 / 4  # about one call per task and chunk, not one per row
    with pytest.warns(UserWarning, match="declares 40"):
        stream = mix.stream(seed=3, data=hf)
        head = iter(stream)
        assert take(head, 1234) == expected[:1234]
        resumed = mix.stream(seed=3, data=hf)
        resumed.load_state_dict(json.loads(json.dumps(stream.state_dict())))
        assert take(iter(resumed), 3000 - 1234) == expected[1234:]  # exact resume inside a batched chunk
