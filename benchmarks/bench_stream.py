"""Stream throughput: mixlab vs ``datasets.interleave_datasets``, and planning a 10,000-task mixture.

Same 107 in-memory tasks (short strings, ExMix-like sizes scaled down) and the same
probabilities for both. Prints examples per second (the best of 5 runs each, the two sides'
runs taking turns so that a busy spell of a shared machine slows both) and the ratio against
map-style sources (goal: >= 20x) and against their streaming (iterable) versions, and mixlab
reading its rows from the baseline's own ``datasets.Dataset`` objects, then the
time and peak Python memory (tracemalloc) of planning a 10,000-task mixture (rates plus the
first 1000 schedule entries; goal: < 1 s and < 200 MB). Throughput is measured in process CPU
time (``time.process_time``, all threads), which is steadier than wall time on a shared
machine; planning is measured in wall time. Runs in about a minute.

    .venv/bin/python benchmarks/bench_stream.py
"""

from __future__ import annotations

import itertools
import time
import tracemalloc

import numpy as np

from mixlab import CallableSource, Mixture, Task
from mixlab.samplers import strategies

NUM_TASKS = 107
NUM_EXAMPLES = 200_000


def make_tasks(num_tasks: int, sizes: np.ndarray, with_rows: bool) -> tuple[list[Task], dict[str, list[dict]]]:
    tasks, data = [], {}
    for i in range(num_tasks):
        name, n = f"bench/task{i:05d}", int(sizes[i])
        if with_rows:
            data[name] = [{"inputs": f"question {i} {j}", "targets": f"answer {j}"} for j in range(n)]
        tasks.append(Task(name=name, family=f"family{i % 8}", collection="bench", num_examples={"train": n},
                          source=CallableSource(fn=lambda split: []),
                          formatter=lambda row: {"inputs": row["inputs"], "targets": row["targets"]}))
    return tasks, data


def bench_mixlab(mix: Mixture, data: dict) -> float:
    start = time.process_time()
    stream = mix.stream(seed=0, data=data)
    count = sum(1 for _ in itertools.islice(stream, NUM_EXAMPLES))
    return count / (time.process_time() - start)


def hf_sources(mix: Mixture, data: dict) -> dict:
    """The same rows as one ``datasets.Dataset`` per task, built once: the baseline's sources."""
    import datasets

    datasets.disable_progress_bars()
    return {name: datasets.Dataset.from_dict({"inputs": [r["inputs"] for r in data[name]],
                                              "targets": [r["targets"] for r in data[name]]})
            for name in mix.probabilities}


def bench_mixlab_on_hf(mix: Mixture, sources: dict, num_examples: int = 30_000) -> float:
    """mixlab reading its rows from the baseline's own ``datasets.Dataset`` objects (random access into
    Arrow, in ``__getitems__`` batches per task and chunk) instead of from Python lists."""
    start = time.process_time()
    count = sum(1 for _ in itertools.islice(mix.stream(seed=0, data=sources), num_examples))
    return count / (time.process_time() - start)


def bench_schedule(mix: Mixture) -> float:
    start = time.process_time()
    count = sum(1 for _ in itertools.islice(mix.stream(seed=0).schedule(), 1_000_000))
    return count / (time.process_time() - start)


def bench_hf(mix: Mixture, sources: dict, *, iterable: bool = False, num_examples: int = NUM_EXAMPLES
             ) -> tuple[float, int]:
    """``interleave_datasets`` over map-style sources, or (``iterable``) their streaming versions."""
    import datasets

    start = time.process_time()
    sources = [sources[name].to_iterable_dataset() if iterable else sources[name] for name in mix.probabilities]
    mixed = datasets.interleave_datasets(sources, probabilities=list(mix.probabilities.values()), seed=0,
                                         stopping_strategy="all_exhausted")
    count = sum(1 for _ in itertools.islice(iter(mixed), num_examples))
    return count / (time.process_time() - start), count


def best_of_alternating(runs: int, *measures) -> list[float]:
    """Each measure's best rate over ``runs`` rounds, the measures taking turns within a round (every side
    gets the same treatment; a shared machine only slows runs down, so the best run is the truest)."""
    rates = [[measure() for measure in measures] for _ in range(runs)]
    return [max(column) for column in zip(*rates, strict=True)]


def bench_planning(num_tasks: int = 10_000) -> tuple[float, float]:
    sizes = np.random.default_rng(1).lognormal(mean=9.0, sigma=2.0, size=num_tasks).astype(np.int64) + 1
    tasks, _ = make_tasks(num_tasks, sizes, with_rows=False)
    tracemalloc.start()
    start = time.perf_counter()
    mix = Mixture.from_strategy(tasks, strategies.Proportional(cap=300_000), name="catalog")
    first = list(itertools.islice(mix.stream(seed=0).schedule(), 1000))
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    assert len(first) == 1000 and len(mix.probabilities) == num_tasks
    return seconds, peak


def main() -> None:
    sizes = np.random.default_rng(0).lognormal(mean=6.5, sigma=1.2, size=NUM_TASKS).astype(np.int64) + 20
    tasks, data = make_tasks(NUM_TASKS, sizes, with_rows=True)
    mix = Mixture.from_strategy(tasks, strategies.Proportional(cap=3000), name="bench-107")
    print(f"{NUM_TASKS} tasks, {int(sizes.sum()):,} examples in memory; {NUM_EXAMPLES:,} examples each")
    sources = hf_sources(mix, data)
    ours, theirs = best_of_alternating(5, lambda: bench_mixlab(mix, data), lambda: bench_hf(mix, sources)[0])
    streaming = bench_hf(mix, sources, iterable=True, num_examples=20_000)[0]
    on_hf = bench_mixlab_on_hf(mix, sources)
    schedule = bench_schedule(mix)
    print(f"mixlab MixtureStream (formatted examples):       {ours:>12,.0f} examples/s")
    print(f"mixlab MixtureStream over the datasets.Dataset:  {on_hf:>12,.0f} examples/s")
    print(f"mixlab schedule() (task, index) only:            {schedule:>12,.0f} pairs/s")
    print(f"datasets.interleave_datasets, map-style sources: {theirs:>12,.0f} examples/s")
    print(f"datasets.interleave_datasets, iterable sources:  {streaming:>12,.0f} examples/s")
    print(f"ratio mixlab / datasets: {ours / theirs:.1f}x map-style (goal >= 20x), "
          f"{ours / streaming:.0f}x iterable; best of 5, CPU time; reading the same Dataset objects: "
          f"{on_hf / theirs:.1f}x")
    seconds, peak = bench_planning()
    print(f"planning 10,000 tasks (rates + first 1000 schedule entries): {seconds:.3f} s, "
          f"peak {peak:.1f} MiB (goal < 1 s, < 200 MB)")


if __name__ == "__main__":
    main()
