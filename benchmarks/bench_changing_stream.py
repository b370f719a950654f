"""A stream whose weights change during iteration vs the same stream with fixed weights.

The 107 in-memory tasks of ``bench_stream.py``; one side iterates the static stream, the other
changes the weights (a random Dirichlet draw, seeded) every ``EVERY`` examples: 100 training steps
of 128 examples each, as a policy updating every 100 steps would. Each change is made live
(``set_probabilities()`` at the next position), so the examples already formatted past it are
dropped and the blocks after it planned again. Prints examples per second (best of 5 rounds,
the two sides taking turns, process CPU time) and the ratio changing / static (goal >= 0.9).
A second line does the same for ``schedule()`` alone (task and index, no formatting), where the
re-planning is not hidden behind formatting. Runs in about half a minute.

    .venv/bin/python benchmarks/bench_changing_stream.py
"""

from __future__ import annotations

import itertools
import time

import numpy as np
from bench_stream import NUM_TASKS, best_of_alternating, make_tasks

from mixlab import Mixture
from mixlab.samplers import strategies

NUM_EXAMPLES = 200_000
EVERY = 100 * 128  # examples between two changes: 100 steps of 128 examples


def run(mix: Mixture, data: dict, *, changing: bool, every: int = EVERY) -> float:
    start = time.process_time()
    stream = mix.stream(seed=0, data=data)
    rng = np.random.default_rng(7)
    items = iter(stream)
    count = 0
    while count < NUM_EXAMPLES:
        count += sum(1 for _ in itertools.islice(items, every))
        if changing:
            stream.set_probabilities(rng.dirichlet(np.ones(len(mix))))
    return count / (time.process_time() - start)


def main() -> None:
    sizes = np.random.default_rng(0).lognormal(mean=6.5, sigma=1.2, size=NUM_TASKS).astype(np.int64) + 20
    tasks, data = make_tasks(NUM_TASKS, sizes, with_rows=True)
    mix = Mixture.from_strategy(tasks, strategies.Proportional(cap=3000), name="bench-107")
    print(f"{NUM_TASKS} tasks; {NUM_EXAMPLES:,} examples; a weight change every {EVERY:,} examples")
    static, changing = best_of_alternating(5, lambda: run(mix, data, changing=False),
                                           lambda: run(mix, data, changing=True))
    print(f"static stream:   {static:>12,.0f} examples/s")
    print(f"changing stream: {changing:>12,.0f} examples/s   ratio changing / static: {changing / static:.3f} "
          f"(goal >= 0.9)")
    static, changing = best_of_alternating(3, lambda: run(mix, data, changing=False),
                                           lambda: run(mix, data, changing=True, every=EVERY // 10))
    print(f"a change every {EVERY // 10:,} examples: {changing:>12,.0f} examples/s   ratio {changing / static:.3f}")


if __name__ == "__main__":
    main()
