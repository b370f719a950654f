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

Weights that change: the probabilities are a step function of the global position, a sorted list
of segments ``(first position, probabilities)``. A block is cut at every segment start inside it and
each piece's ``u`` goes through the inverse CDF of the weights in force there (one guide table per
weight vector, cached); a block without a change inside takes the static path unchanged. Changing
the segments drops the planned blocks (they are planned again on demand).
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
Segment = tuple[int, np.ndarray]  # (first global position, probabilities in force from there on)
_MAX_CDFS = 64  # guide tables kept (one per weight vector in use)


class Schedule:
    """The seeded plan of a stream over tasks ``names`` with ``probs`` and ``sizes``; touches no data."""

    def __init__(self, names: list[str], probs: np.ndarray, sizes: np.ndarray, *, seed: int, block_size: int,
                 exhaustion: str) -> None:
        self.names, self.probs, self.sizes = names, probs, sizes
        self.seed, self.block_size, self.exhaustion = seed, block_size, exhaustion
        self._segments: list[Segment] = [(0, probs)]
        self._cdfs: dict[bytes, _GuidedInverseCdf] = {}
        self._bits = domain_bits(sizes)
        self._keys = np.array([_task_key(seed, n) for n in names], dtype=np.uint64)
        self._plans: dict[tuple[int, bytes], Plan] = {}
        self._prefix: tuple[tuple[int, bytes], np.ndarray, np.ndarray] | None = None  # kept by change()
        self._ahead = 1  # blocks the next _plan_ahead call plans (doubling up to _reach)
        self._reach = _PLAN_AHEAD  # at most this many: fewer when weight changes come sooner

    def fingerprint(self) -> str:
        """A hash of the tasks, probabilities and sizes: what a saved state must match."""
        text = json.dumps([self.names, [float(p).hex() for p in self.probs], self.sizes.tolist()])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    # ----------------------------------------------------------------- weights over positions
    @property
    def segments(self) -> list[Segment]:
        """``(first position, probabilities)`` pairs, sorted: the weights in force from each position on."""
        return list(self._segments)

    def set_segments(self, segments: list[Segment]) -> None:
        """Replace the weights timeline (sorted, first segment in force from wherever planning starts)."""
        starts = [start for start, _ in segments]
        assert segments and starts == sorted(set(starts)), "segments must be non-empty with increasing starts"
        self._segments = [(int(start), probs) for start, probs in segments]
        self._plans, self._ahead, self._reach, self._prefix = {}, 1, _PLAN_AHEAD, None

    def change(self, position: int, probs: np.ndarray) -> None:
        """From global ``position`` on, draw with ``probs`` (changes planned at or after it are replaced).

        Plans of blocks that end before ``position`` stay, and so does the part of the plan of its own
        block before it (only the rest is drawn again); how far ahead the next planning reaches follows
        the distance between changes (planning blocks that a change is about to void is wasted)."""
        size = self.block_size
        kept = [seg for seg in self._segments if seg[0] < position]
        distance = (position - kept[-1][0]) // size if kept else _PLAN_AHEAD
        block, offset = divmod(position, size)
        self._prefix = None
        for key, (tids, idx, _, _) in self._plans.items():
            if key[0] == block and 0 < offset < len(tids):
                self._prefix = (key, tids[:offset], idx[:offset])
        self._plans = {key: plan for key, plan in self._plans.items() if (key[0] + 1) * size <= position}
        self._segments = [*kept, (int(position), probs)]
        self._ahead = self._reach = max(1, min(_PLAN_AHEAD, distance))

    def probabilities_at(self, position: int) -> np.ndarray:
        """The probabilities in force at global ``position``."""
        found = self._segments[0][1]
        for start, probs in self._segments:
            if start > position:
                break
            found = probs
        return found

    def forget_before(self, position: int) -> None:
        """Drop the segments no plan from ``position`` on needs (keep the one in force there and later ones)."""
        in_force = [k for k, (start, _) in enumerate(self._segments) if start <= position]
        self._segments = self._segments[in_force[-1] if in_force else 0:]

    def _cdf(self, probs: np.ndarray) -> _GuidedInverseCdf:
        key = probs.tobytes()
        cdf = self._cdfs.get(key)
        if cdf is None:
            if len(self._cdfs) >= _MAX_CDFS:
                self._cdfs.clear()
            cum = np.cumsum(probs)
            cdf = self._cdfs[key] = _GuidedInverseCdf(cum / cum[-1])
        return cdf

    def _pieces(self, block: int, skip: int = 0) -> list[tuple[int, np.ndarray]]:
        """``(offset from position skip of block, probabilities)`` where each weight vector in force there starts."""
        first, end = block * self.block_size + skip, (block + 1) * self.block_size
        pieces = [(0, self.probabilities_at(first))]
        pieces += [(start - first, probs) for start, probs in self._segments if first < start < end]
        return pieces

    # ----------------------------------------------------------------- planning
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
        ahead, self._ahead = self._ahead, min(2 * self._ahead, self._reach)  # 1, 2, 4: the first example is quick
        prefix = self._prefix if self._prefix is not None and self._prefix[0] == (block, counts.tobytes()) else None
        skip = 0 if prefix is None else len(prefix[1])  # positions of the first block planned before a change
        for b in range(block, block + ahead):
            before = counts if not skip else counts + np.bincount(prefix[1], minlength=num_tasks)  # type: ignore[index]
            tids, ends = self._draw(b, before, skip)
            end_counts = before + np.bincount(tids, minlength=num_tasks)
            drawn.append((b, counts, tids, before[tids] + _occurrence(tids, num_tasks), end_counts, ends))
            skip = 0
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
            plan_tids, plan_idx = tids, idx[at:at + len(tids)]
            if prefix is not None and b == block:
                plan_tids, plan_idx = np.concatenate([prefix[1], tids]), np.concatenate([prefix[2], plan_idx])
            plans[(b, start_counts.tobytes())] = (plan_tids, plan_idx, end_counts, ends)
            at += len(tids)
        return plans

    def _draw(self, block: int, start_counts: np.ndarray, skip: int = 0) -> tuple[np.ndarray, bool]:
        """The task of every global position of ``block`` from offset ``skip`` on (``start_counts``: the
        counts there), and whether the stream ends in it."""
        seq = np.random.SeedSequence(entropy=self.seed, spawn_key=(_SCHEDULE_KEY, block))
        u = np.random.Generator(np.random.PCG64(seq)).random(self.block_size)[skip:]
        pieces = self._pieces(block, skip) if len(self._segments) > 1 else [(0, self._segments[0][1])]
        if self.exhaustion == "repeat":
            if len(pieces) == 1:  # the static path: one weight vector for the whole block
                return self._cdf(pieces[0][1])(u), False
            bounds = [at for at, _ in pieces[1:]] + [len(u)]
            return np.concatenate([self._cdf(probs)(u[at:end]) for (at, probs), end in zip(pieces, bounds,
                                                                                             strict=True)]), False
        counts, drawn = start_counts.copy(), []
        for k, (at, probs) in enumerate(pieces):
            end = pieces[k + 1][0] if k + 1 < len(pieces) else len(u)
            ids, ends = self._draw_until_exhausted(u[at:end], counts, probs)
            drawn.append(ids)
            if ends:
                return _concat(drawn), True
            counts += np.bincount(ids, minlength=len(self.names))
        return _concat(drawn), False

    def _draw_until_exhausted(self, u: np.ndarray, counts: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, bool]:
        """Policies ``first`` and ``all``: draw, stop at each exhaustion, renormalise over live tasks.

        The stream also ends when every live task has probability 0 (nothing left can be drawn)."""
        num_tasks = len(self.names)
        counts = counts.copy()
        live = counts < self.sizes
        pieces: list[np.ndarray] = []
        start = 0
        while start < len(u):
            cum = np.cumsum(np.where(live, probs, 0.0))
            if not live.any() or cum[-1] <= 0:
                return _concat(pieces), True
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
