"""Block planning: which task and example index every global position of a stream holds.

One block of ``block_size`` global positions at a time, all in numpy:

```
u = PCG64(SeedSequence(entropy=seed, spawn_key=(SCHEDULE, block))).random(block_size)
task at position p = inverse CDF of the live tasks' probabilities at u[p]   (a guide table)
count c = earlier draws of that task (global)   epoch = c // n   offset = c % n
example index = permutation(seed, task name, epoch)[offset]
```

:class:`Schedule` plans up to ``_PLAN_AHEAD`` blocks at once (one permutation call: the slow
tail of cycle-walking is paid once) and caches them by ``(block, counts at its start)``.
Exhaustion policies ``"first"`` and ``"all"`` stop at each exhaustion and renormalise the same
``u`` over the tasks still live (see :mod:`mixlab.stream`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import numpy as np

from mixlab.stream.permutation import domain_bits, permute

_SCHEDULE_KEY = 0x5C4ED  # spawn-key tag of the schedule's uniform draws
_PLAN_AHEAD = 4  # blocks planned together (one permutation call: cycle-walking's tail is paid once)

Plan = tuple[np.ndarray, np.ndarray, np.ndarray, bool]  # task ids, example indices, counts after, ends


class Schedule:
    """The seeded plan of a stream over tasks ``names`` with ``probs`` and ``sizes``; touches no data."""

    def __init__(self, names: list[str], probs: np.ndarray, sizes: np.ndarray, *, seed: int, block_size: int,
                 exhaustion: str) -> None:
        self.names, self.probs, self.sizes = names, probs, sizes
        self.seed, self.block_size, self.exhaustion = seed, block_size, exhaustion
        cum = np.cumsum(probs)
        self._task_at = _GuidedInverseCdf(cum / cum[-1])
        self._bits = domain_bits(sizes)
        self._keys = np.array([_task_key(seed, n) for n in names], dtype=np.uint64)
        self._plans: dict[tuple[int, bytes], Plan] = {}
        self._ahead = 1  # blocks the next _plan_ahead call plans (doubling up to _PLAN_AHEAD)

    def fingerprint(self) -> str:
        """A hash of the tasks, probabilities and sizes: what a saved state must match."""
        text = json.dumps([self.names, [float(p).hex() for p in self.probs], self.sizes.tolist()])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def blocks(self, cursor: Any, rank: int, world: int) -> Iterator[tuple[range, np.ndarray, np.ndarray]]:
        """Per block from ``cursor`` on: the global positions rank ``rank`` of ``world`` serves, their task ids
        and example indices. The consumer sets ``cursor.offset`` as it goes; this moves the cursor between
        blocks (``cursor`` has ``block``, ``offset``, ``counts`` and ``done``)."""
        size = self.block_size
        while not cursor.done:
            tids, idx, end_counts, ends = self.plan(cursor.block, cursor.counts)
            start = cursor.offset + (rank - (cursor.block * size + cursor.offset)) % world
            yield range(start, len(tids), world), tids[start::world], idx[start::world]
            if ends:
                cursor.offset, cursor.done = len(tids), True
            else:
                cursor.block, cursor.offset, cursor.counts = cursor.block + 1, 0, end_counts

    def plan(self, block: int, counts: np.ndarray) -> Plan:
        """Tasks and example indices of every global position of ``block``; counts after it; whether it ends."""
        key = (block, counts.tobytes())
        plan = self._plans.get(key)
        if plan is None:
            self._plans = self._plan_ahead(block, counts)
            plan = self._plans[key]
        return plan

    def _plan_ahead(self, block: int, counts: np.ndarray) -> dict[tuple[int, bytes], Plan]:
        """Plans of ``_PLAN_AHEAD`` blocks from ``block`` on (fewer if the stream ends), keyed like
        :meth:`plan`'s cache. One :func:`~mixlab.stream.permutation.permute` call serves them all."""
        num_tasks = len(self.names)
        drawn = []
        ahead, self._ahead = self._ahead, min(2 * self._ahead, _PLAN_AHEAD)  # 1, 2, 4: the first example is quick
        for b in range(block, block + ahead):
            tids, ends = self._draw(b, counts)
            end_counts = counts + np.bincount(tids, minlength=num_tasks)
            drawn.append((b, counts, tids, counts[tids] + _occurrence(tids, num_tasks), end_counts, ends))
            if ends:
                break
            counts = end_counts
        all_tids = np.concatenate([d[2] for d in drawn])
        sizes = self.sizes[all_tids]
        epoch, offset = np.divmod(np.concatenate([d[3] for d in drawn]), sizes)
        idx = permute(offset.astype(np.uint64), sizes.astype(np.uint64), self._bits[all_tids],
                       self._keys[all_tids], epoch.astype(np.uint64)).astype(np.int64)
        plans, at = {}, 0
        for b, start_counts, tids, _, end_counts, ends in drawn:
            plans[(b, start_counts.tobytes())] = (tids, idx[at:at + len(tids)], end_counts, ends)
            at += len(tids)
        return plans

    def _draw(self, block: int, start_counts: np.ndarray) -> tuple[np.ndarray, bool]:
        """The task of every global position of ``block``, and whether the stream ends in it."""
        seq = np.random.SeedSequence(entropy=self.seed, spawn_key=(_SCHEDULE_KEY, block))
        u = np.random.Generator(np.random.PCG64(seq)).random(self.block_size)
        if self.exhaustion == "repeat":
            return self._task_at(u), False
        return self._draw_until_exhausted(u, start_counts)

    def _draw_until_exhausted(self, u: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, bool]:
        """Policies ``first`` and ``all``: draw, stop at each exhaustion, renormalise over live tasks."""
        num_tasks = len(self.names)
        counts = counts.copy()
        live = counts < self.sizes
        pieces: list[np.ndarray] = []
        start = 0
        while start < len(u):
            if not live.any():
                return _concat(pieces), True
            cum = np.cumsum(np.where(live, self.probs, 0.0))
            ids = _inverse_cdf(cum / cum[-1], u[start:])
            after = counts[ids] + _occurrence(ids, num_tasks) + 1
            hit = np.flatnonzero(after >= self.sizes[ids])
            if hit.size == 0:
                pieces.append(ids)
                break
            take = ids[: hit[0] + 1]
            pieces.append(take)
            counts += np.bincount(take, minlength=num_tasks)
            start += len(take)
            if self.exhaustion == "first":
                return _concat(pieces), True
            live[take[-1]] = False
        return _concat(pieces), not live.any()


# --------------------------------------------------------------------- vectorised helpers
def _concat(pieces: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int64)


def _inverse_cdf(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Index of the first cumulative probability above ``u`` (tasks with probability 0 never match)."""
    return np.minimum(np.searchsorted(cum, u, side="right"), len(cum) - 1).astype(np.int64)


class _GuidedInverseCdf:
    """:func:`_inverse_cdf` for a fixed ``cum`` and ``u`` in ``[0, 1)``, through a guide table.

    ``[0, 1)`` is cut into ``2**k`` equal buckets (at least 16 per task); a bucket that holds no
    cumulative probability answers every ``u`` in it from the table, and only the ``u`` in the
    few buckets that hold one are binary-searched. The answer is exactly :func:`_inverse_cdf`'s
    (``u * 2**k`` is exact in floating point), about twice as fast for a hundred tasks.
    """

    def __init__(self, cum: np.ndarray) -> None:
        self._cum = cum
        self._scale = float(1 << min(20, max(10, (16 * len(cum) - 1).bit_length())))
        edges = np.arange(int(self._scale) + 1, dtype=np.float64) / self._scale
        low = np.searchsorted(cum, edges[:-1], side="right")  # answer at each bucket's left edge
        self._answer = np.minimum(low, len(cum) - 1).astype(np.int64)
        self._exact = low == np.searchsorted(cum, edges[1:], side="left")  # no boundary inside the bucket

    def __call__(self, u: np.ndarray) -> np.ndarray:
        bucket = (u * self._scale).astype(np.intp)
        ids = self._answer[bucket]
        search = np.flatnonzero(~self._exact[bucket])
        if search.size:
            ids[search] = _inverse_cdf(self._cum, u[search])
        return ids


def _occurrence(ids: np.ndarray, num_tasks: int) -> np.ndarray:
    """For each position, how many earlier positions hold the same id."""
    small = ids.astype(np.int16) if num_tasks <= np.iinfo(np.int16).max else ids
    order = np.argsort(small, kind="stable")  # radix sort for 16-bit keys
    counts = np.bincount(ids, minlength=num_tasks)
    first = np.cumsum(counts) - counts  # where each id's run starts in sorted order
    out = np.empty_like(ids)
    out[order] = np.arange(len(ids)) - first[ids[order]]
    return out


def _task_key(seed: int, name: str) -> int:
    """The permutation key of task ``name`` under ``seed`` (from the name, never from list position)."""
    digest = hashlib.blake2b(f"mixlab.stream.permutation\0{seed}\0{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


__all__ = ["Schedule"]
