"""Soak: 10^7 examples of a 107-task mixture with ExMix-like sizes, in constant memory and state size."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Sequence

from mixlab import CallableSource, Mixture, Task

TOTAL, EVERY = 10_000_000, 1_000_000
# 107 tasks with ExMix-like train sizes: a few huge, many small (1k .. 4M rows), in 12 families
SIZES = [int(1_000 * 1.08 ** (k % 90)) + 37 * k for k in range(107)]


class TinyRows(Sequence):
    """``n`` rows without holding them: every index gives the same tiny row (the stream is what we soak)."""

    def __init__(self, n: int) -> None:
        self.n, self.row = n, {"q": "question", "a": "answer"}

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index):  # type: ignore[override]
        return self.row


def _formatter(row):
    return {"inputs": row["q"], "targets": row["a"]}


def _mixture() -> Mixture:
    tasks = [Task(name=f"soak/task_{k:03d}", family=f"fam{k % 12}", collection="soak",
                  num_examples={"train": n}, source=CallableSource(fn=lambda split: []), formatter=_formatter)
             for k, n in enumerate(SIZES)]
    return Mixture.from_strategy(tasks, {"kind": "proportional", "cap": 300_000}, name="soak")


def _rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_ten_million_examples_in_constant_memory_and_state_size():
    mixture = _mixture()
    data = {name: TinyRows(task.num_train) for name, task in mixture.tasks.items()}
    assert len(mixture) == 107 and sum(SIZES) > 10_000_000
    stream = mixture.stream(seed=7, data=data)
    iterator = iter(stream)
    rss, state_sizes, keys = [], [], []
    seen = 0
    for _ in range(TOTAL // EVERY):
        last = None
        for last in itertools.islice(iterator, EVERY):  # noqa: B007 - the last item is checked below
            pass
        seen += EVERY
        assert last is not None and set(last) == {"task", "index", "inputs", "targets"}
        rss.append(_rss())
        state = stream.state_dict()
        state_sizes.append(len(json.dumps(state)))
        keys.append((sorted(state), len(state["counts"])))
    assert seen == TOTAL
    growth = max(rss[1:]) - rss[1]  # the first sample includes one-off warm-up (plan caches, rows objects)
    assert growth < 8 * 2**20, f"RSS grew by {growth / 2**20:.1f} MiB over {TOTAL:,} examples: {rss}"
    assert all(k == keys[0] for k in keys) and keys[0][1] == 107
    assert max(state_sizes) - min(state_sizes) <= 2 * 107  # counts gain digits, nothing else grows
    assert state_sizes[-1] < 10_000
    assert sum(state["counts"].values()) >= TOTAL - 4096  # counts are at a block start

    resumed = mixture.stream(seed=7, data=data)  # and the state still resumes exactly after 10^7
    resumed.load_state_dict(state)
    expected = list(itertools.islice(iterator, 1000))
    assert list(itertools.islice(iter(resumed), 1000)) == expected
