"""``MixtureStream``: a seeded, sharded, resumable stream of examples from a :class:`Mixture`.

How positions are planned (all vectorised with numpy, a block of ``block_size`` positions at a time):

```
block b: u = PCG64(SeedSequence(entropy=seed, spawn_key=(SCHEDULE, b))).random(block_size)
         task at global position p = inverse CDF of the live tasks' probabilities at u[p]
         count c = earlier draws of that task (global, all ranks)   epoch = c // n, offset = c % n
         example index = permutation(seed, task name, epoch)[offset]
rank r of w serves the global positions p with p % w == r
```

* Probabilities are the mixture's; tasks are ordered by name. The per-task permutation is a
  keyed Feistel network over ``[0, n)`` (cycle-walking), keyed by a hash of ``(seed, task name)``
  and the epoch: a fresh shuffle every epoch in O(1) memory, whatever ``n``.
* The same seed gives the same stream on any machine (PCG64 and the Feistel rounds are exact
  integer arithmetic; no global RNG, nothing depends on list position or process).
* Shards are disjoint slices of one global schedule, and example counts are global, so no example
  is served twice across ranks within an epoch; every rank follows the mixture's rates.

Exhaustion policies (a task is *exhausted* once it has served ``n`` examples in the current epoch):

* ``"repeat"`` (default): never stops; a task that runs out starts a new, reshuffled epoch.
* ``"first"``: the stream ends right after the position at which the first task serves its last
  example (every example is served at most once).
* ``"all"``: an exhausted task is no longer drawn and the others are renormalised: the same
  uniform number ``u[p]`` is mapped through the cumulative probabilities of the tasks that are
  still live at ``p``, so each live task keeps its share relative to the other live tasks. The
  stream ends when every example of every task has been served exactly once.
  With ``"first"`` and ``"all"`` all ranks stop at the same global position, so their shares may
  differ by one example.

Resume: ``state_dict()`` holds the block index, the offset in the block and the per-task counts
at the block's start (O(#tasks) numbers, constant as the stream advances). ``load_state_dict``
re-plans that block and continues right after the last example served: resume is exact (the tail
is identical, nothing is replayed or skipped) in every case, for every policy, across epoch and
block boundaries. It is refused (``ResumeError``) when the state belongs to another mixture
(name, leaves, probabilities or sizes), seed, shard, policy or block size, or another state
version. Exactness assumes the data rows themselves are unchanged: the state stores positions,
not data.

>>> from mixlab import Task, CallableSource, Mixture
>>> rows = [{"x": str(i)} for i in range(3)]
>>> t = Task(name="demo/t", family="demo", collection="demo", num_examples={"train": 3},
...          source=CallableSource(fn=lambda split: rows), formatter=lambda r: {"inputs": r["x"], "targets": "y"})
>>> s = Mixture.of([(t, 1.0)], name="m").stream(seed=0, exhaustion="first")
>>> sorted(ex["index"] for ex in s)
[0, 1, 2]
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from mixlab.errors import DataError, MixtureSpecError, ResumeError

if TYPE_CHECKING:
    from mixlab.samplers.mixture import Mixture

STATE_VERSION = 1
BLOCK_SIZE = 4096
EXHAUSTION = ("repeat", "first", "all")
_SCHEDULE_KEY = 0x5C4ED  # spawn-key tag of the schedule's uniform draws
_FEISTEL_ROUNDS = 6
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


class _Cursor:
    """Where a walk is: block index, next global position in it, per-task counts at the block's start."""

    __slots__ = ("block", "counts", "done", "offset")

    def __init__(self, block: int, offset: int, counts: np.ndarray, done: bool = False) -> None:
        self.block, self.offset, self.counts, self.done = block, offset, counts, done

    def copy(self) -> _Cursor:
        return _Cursor(self.block, self.offset, self.counts.copy(), self.done)


class MixtureStream:
    """Iterate ``{"task", "index", "inputs", "targets"}`` (or ``{"task", "index", "text"}``) examples.

    ``data`` maps a task name to random-access raw rows (overriding ``task.load("train")``,
    which is otherwise called lazily on the task's first example). Iterating advances the
    stream; :meth:`state_dict` records where it is (use one iterator at a time: each ``iter()``
    continues from the current position). See the module docstring for the algorithm.
    """

    def __init__(
        self,
        mixture: Mixture,
        *,
        seed: int,
        shard: tuple[int, int] = (0, 1),
        exhaustion: Literal["repeat", "first", "all"] = "repeat",
        data: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
        block_size: int = BLOCK_SIZE,
    ) -> None:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise MixtureSpecError(f"stream seed must be an integer >= 0, got {seed!r}")
        if (not isinstance(shard, (tuple, list)) or len(shard) != 2
                or not all(isinstance(x, (int, np.integer)) for x in shard) or not 0 <= shard[0] < shard[1]):
            raise MixtureSpecError(f"shard must be (rank, world_size) with 0 <= rank < world_size, got {shard!r}")
        if exhaustion not in EXHAUSTION:
            raise MixtureSpecError(f"exhaustion must be one of {list(EXHAUSTION)}, got {exhaustion!r}")
        if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
            raise MixtureSpecError(f"block_size must be a positive integer, got {block_size!r}")
        self.mixture = mixture
        self.seed = int(seed)
        self.shard = (int(shard[0]), int(shard[1]))
        self.exhaustion = exhaustion
        self.block_size = block_size
        rates, tasks = mixture.rates, mixture.tasks
        self._names = list(rates)
        self._tasks = [tasks[n] for n in self._names]
        self._probs = np.array([rates[n] for n in self._names], dtype=np.float64)
        self._cum = np.cumsum(self._probs)
        self._cum /= self._cum[-1]
        self._sizes = np.array([t.num_train for t in self._tasks], dtype=np.int64)
        self._half_bits = np.array([max(1, (int(n - 1).bit_length() + 1) // 2) for n in self._sizes], dtype=np.uint64)
        self._keys = np.array([_task_key(self.seed, n) for n in self._names], dtype=np.uint64)
        self._fingerprint = _mixture_fingerprint(self._names, self._probs, self._sizes)
        unknown = sorted(set(data or {}) - set(self._names))
        if unknown:
            raise MixtureSpecError(f"data= names tasks not in mixture {mixture.name!r}: {unknown}")
        self._data = dict(data or {})
        self._rows: dict[int, Sequence[Mapping[str, Any]]] = {}
        self._plans: dict[tuple[int, bytes], tuple[np.ndarray, np.ndarray, np.ndarray, bool]] = {}
        self._cursor = _Cursor(0, 0, np.zeros(len(self._names), dtype=np.int64))

    def __repr__(self) -> str:
        return (f"MixtureStream({self.mixture.name!r}, seed={self.seed}, shard={self.shard}, "
                f"exhaustion={self.exhaustion!r})")

    # ----------------------------------------------------------------- iteration
    def __iter__(self) -> Iterator[dict[str, Any]]:
        cursor, names = self._cursor, self._names
        rows = [self._rows.get(tid) for tid in range(len(names))]
        formatters = self._formatters()
        # the supervised fast path is inlined (this loop is the stream's hot path); anything unusual
        # goes through the per-task formatter, which falls back to Task.format and its errors
        plain = [None if t.self_supervised else t.formatter for t in self._tasks]
        for positions, tids, indices in self._blocks(cursor):
            for j, tid, index in zip(positions, tids, indices):
                cursor.offset = j + 1
                task_rows = rows[tid]
                if task_rows is None:
                    task_rows = rows[tid] = self._load(tid)
                row = task_rows[index]
                fn = plain[tid]
                if fn is not None:
                    try:
                        out = fn(row)
                    except Exception:  # re-run below through Task.format, which raises the proper DataError
                        out = None
                    if type(out) is dict:
                        inputs, targets = out.get("inputs"), out.get("targets")
                        if type(inputs) is str and type(targets) is str:
                            yield {"task": names[tid], "index": index, "inputs": inputs, "targets": targets}
                            continue
                yield formatters[tid](names[tid], index, row)

    def schedule(self) -> Iterator[tuple[str, int]]:
        """``(task name, example index)`` pairs this shard serves from the current position on.

        Touches no data and does not advance the stream (a look-ahead from its current state).
        """
        names = self._names
        for _, tids, indices in self._blocks(self._cursor.copy()):
            for tid, index in zip(tids, indices):
                yield names[tid], index

    def _blocks(self, cursor: _Cursor) -> Iterator[tuple[range, list[int], list[int]]]:
        """Per block from ``cursor`` on: the global positions this rank serves, their task ids and example
        indices. The consumer sets ``cursor.offset`` as it goes; this moves the cursor between blocks."""
        rank, world, size = self.shard[0], self.shard[1], self.block_size
        while not cursor.done:
            tids, idx, end_counts, ends = self._plan(cursor.block, cursor.counts)
            start = cursor.offset + (rank - (cursor.block * size + cursor.offset)) % world
            yield range(start, len(tids), world), tids[start::world].tolist(), idx[start::world].tolist()
            if ends:
                cursor.offset, cursor.done = len(tids), True
            else:
                cursor.block, cursor.offset, cursor.counts = cursor.block + 1, 0, end_counts

    def _formatters(self) -> list[Any]:
        """Per task: ``(name, index, row) -> example``; a fast path, falling back to ``Task.format``
        (which checks everything and raises ``DataError``) whenever the output is not plain strings."""
        return [_self_supervised_formatter(t) if t.self_supervised else _supervised_formatter(t) for t in self._tasks]

    # ----------------------------------------------------------------- planning
    def _plan(self, block: int, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
        """Tasks and example indices of every global position of ``block``; counts after it; whether it ends."""
        key = (block, counts.tobytes())
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) >= 4:
                self._plans.clear()
            plan = self._plans[key] = self._plan_uncached(block, counts)
        return plan

    def _plan_uncached(self, block: int, start_counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
        seq = np.random.SeedSequence(entropy=self.seed, spawn_key=(_SCHEDULE_KEY, block))
        u = np.random.Generator(np.random.PCG64(seq)).random(self.block_size)
        num_tasks = len(self._names)
        ends = False
        if self.exhaustion == "repeat":
            tids = _inverse_cdf(self._cum, u)
        else:
            tids, ends = self._draw_until_exhausted(u, start_counts)
        occurrence = _occurrence(tids, num_tasks)
        served = start_counts[tids] + occurrence
        sizes = self._sizes[tids]
        epoch, offset = np.divmod(served, sizes)
        idx = _permute(offset.astype(np.uint64), sizes.astype(np.uint64), self._half_bits[tids],
                       self._keys[tids], epoch.astype(np.uint64))
        end_counts = start_counts + np.bincount(tids, minlength=num_tasks)
        return tids, idx.astype(np.int64), end_counts, ends

    def _draw_until_exhausted(self, u: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, bool]:
        """Policies ``first`` and ``all``: draw, stop at each exhaustion, renormalise over live tasks."""
        num_tasks = len(self._names)
        counts = counts.copy()
        live = counts < self._sizes
        pieces: list[np.ndarray] = []
        start = 0
        while start < len(u):
            if not live.any():
                return _concat(pieces), True
            cum = np.cumsum(np.where(live, self._probs, 0.0))
            ids = _inverse_cdf(cum / cum[-1], u[start:])
            after = counts[ids] + _occurrence(ids, num_tasks) + 1
            hit = np.flatnonzero(after >= self._sizes[ids])
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

    # ----------------------------------------------------------------- data
    def _load(self, tid: int) -> Sequence[Mapping[str, Any]]:
        task = self._tasks[tid]
        rows = self._data[task.name] if task.name in self._data else task.load("train")
        n = int(self._sizes[tid])
        if len(rows) < n:
            raise DataError(f"task {task.name!r} declares {n} train examples but its data has {len(rows)} rows; "
                            f"fix num_examples['train'] or pass the full rows with data=")
        if len(rows) > n:
            warnings.warn(f"task {task.name!r}: data has {len(rows)} rows but declares {n}; "
                          f"only the first {n} are used", stacklevel=3)
        self._rows[tid] = rows
        return rows

    # ----------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        """Where the stream is: O(#tasks) plain data (JSON-compatible)."""
        c = self._cursor
        return {
            "version": STATE_VERSION,
            "mixture": self.mixture.name,
            "mixture_fingerprint": self._fingerprint,
            "seed": self.seed,
            "shard": list(self.shard),
            "exhaustion": self.exhaustion,
            "block_size": self.block_size,
            "block": c.block,
            "offset": c.offset,
            "done": c.done,
            "counts": dict(zip(self._names, c.counts.tolist())),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from ``state``; refuses state from another mixture, seed, shard, policy or version.

        Call it before iterating: the next ``iter(stream)`` starts at the saved position (an
        iterator made earlier keeps its own position and no longer updates ``state_dict``).
        """
        if not isinstance(state, Mapping) or state.get("version") != STATE_VERSION:
            got = state.get("version") if isinstance(state, Mapping) else type(state).__name__
            raise ResumeError(f"stream state version {got!r} is not {STATE_VERSION}; it was saved by another "
                              f"mixlab version; restart the stream or use the matching mixlab")
        expected = self.state_dict()
        for field in ("mixture", "mixture_fingerprint", "seed", "shard", "exhaustion", "block_size"):
            if list_or(state.get(field)) != list_or(expected[field]):
                raise ResumeError(f"cannot resume stream of mixture {self.mixture.name!r}: saved {field} is "
                                  f"{state.get(field)!r} but this stream has {expected[field]!r}; build the "
                                  f"stream with the same mixture, seed, shard, exhaustion and block_size")
        counts = state.get("counts")
        if not isinstance(counts, Mapping) or sorted(counts) != self._names:
            raise ResumeError(f"stream state counts do not list this mixture's {len(self._names)} tasks")
        self._cursor = _Cursor(int(state["block"]), int(state["offset"]),
                               np.array([int(counts[n]) for n in self._names], dtype=np.int64),
                               bool(state.get("done", False)))


def _supervised_formatter(task: Any) -> Any:
    formatter = task.formatter

    def fmt(name: str, index: int, row: Mapping[str, Any]) -> dict[str, Any]:
        try:
            out = formatter(row)
        except Exception:  # any failure: Task.format re-runs it and raises the proper DataError
            out = None
        if type(out) is dict:
            inputs, targets = out.get("inputs"), out.get("targets")
            if type(inputs) is str and type(targets) is str:
                return {"task": name, "index": index, "inputs": inputs, "targets": targets}
        return {"task": name, "index": index, **task.format(row)}

    return fmt


def _self_supervised_formatter(task: Any) -> Any:
    field = task.text_field

    def fmt(name: str, index: int, row: Mapping[str, Any]) -> dict[str, Any]:
        text = row.get(field) if type(row) is dict else None
        if type(text) is str:
            return {"task": name, "index": index, "text": text}
        return {"task": name, "index": index, **task.format(row)}

    return fmt


def list_or(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


# --------------------------------------------------------------------- vectorised helpers
def _concat(pieces: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int64)


def _inverse_cdf(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Index of the first cumulative probability above ``u`` (tasks with probability 0 never match)."""
    return np.minimum(np.searchsorted(cum, u, side="right"), len(cum) - 1).astype(np.int64)


def _occurrence(ids: np.ndarray, num_tasks: int) -> np.ndarray:
    """For each position, how many earlier positions hold the same id."""
    order = np.argsort(ids, kind="stable")
    ranked = ids[order]
    first = np.searchsorted(ranked, ranked, side="left")
    out = np.empty_like(ids)
    out[order] = np.arange(len(ids)) - first
    return out


def _mix64(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a bijective 64-bit mixer (wrapping arithmetic)."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def _feistel(x: np.ndarray, half_bits: np.ndarray, round_keys: list[np.ndarray]) -> np.ndarray:
    mask = (np.uint64(1) << half_bits) - np.uint64(1)
    left, right = x >> half_bits, x & mask
    for key in round_keys:
        left, right = right, left ^ (_mix64(right ^ key) & mask)
    return (left << half_bits) | right


def _permute(offset: np.ndarray, n: np.ndarray, half_bits: np.ndarray, keys: np.ndarray,
             epoch: np.ndarray) -> np.ndarray:
    """``permutation_{key, epoch}(offset)`` over ``[0, n)`` for every element (a keyed bijection)."""
    with np.errstate(over="ignore"):
        epoch_key = _mix64(keys ^ _mix64(epoch * _GOLDEN + np.uint64(1)))
        round_keys = [epoch_key + np.uint64(r) * _GOLDEN for r in range(_FEISTEL_ROUNDS)]  # F mixes them
        out = _feistel(offset, half_bits, round_keys)
        outside = np.flatnonzero(out >= n)
        while outside.size:  # cycle-walking: re-encrypt until inside [0, n); a few rounds on average
            out[outside] = _feistel(out[outside], half_bits[outside], [k[outside] for k in round_keys])
            outside = outside[out[outside] >= n[outside]]
    return out


def _task_key(seed: int, name: str) -> int:
    digest = hashlib.blake2b(f"mixlab.stream.permutation\0{seed}\0{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def _mixture_fingerprint(names: list[str], probs: np.ndarray, sizes: np.ndarray) -> str:
    text = json.dumps([names, [float(p).hex() for p in probs], sizes.tolist()])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


__all__ = ["BLOCK_SIZE", "EXHAUSTION", "STATE_VERSION", "MixtureStream"]
