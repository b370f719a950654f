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

Formatting is block-wise: ``_CHUNK`` planned positions at a time, rows are fetched and formatted
with C-level ``map``/``itemgetter`` passes and one list comprehension builds the example dicts,
then the iterator hands them out (``state_dict`` reads how many it has handed out). Rows that
read faster in batches (an HF ``Dataset``: ``__getitems__``) are read with one call per task and
chunk, and chunks are then ``_BATCHED_CHUNK`` long. When
anything in a chunk is unusual (a formatter raises or returns something other than a ``dict``
of ``str``, a row lacks its text, loading fails), that chunk is redone one example at a time
through ``Task.format``, so the ``DataError`` comes at the exact position of the bad row, after
every example before it (formatters are then called twice for that chunk: keep them pure).

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
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import chain, repeat
from operator import call, getitem, itemgetter, length_hint
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from mixlab.errors import DataError, MixtureSpecError, ResumeError
from mixlab.samplers.permutation import domain_bits as _domain_bits
from mixlab.samplers.permutation import permute as _permute

if TYPE_CHECKING:
    from mixlab.samplers.mixture import Mixture

STATE_VERSION = 2  # 2: per-epoch permutation over 2**bit_length(n - 1) (was a balanced Feistel)
BLOCK_SIZE = 4096
EXHAUSTION = ("repeat", "first", "all")
_SCHEDULE_KEY = 0x5C4ED  # spawn-key tag of the schedule's uniform draws
_dict_get = dict.__getitem__  # raises TypeError on a formatter output that is not a dict
_repeat_inputs, _repeat_targets = repeat("inputs"), repeat("targets")  # endless, so safe to share
_CHUNK = 256  # examples formatted at a time: big enough to amortise, small enough to stay in cache
_BATCHED_CHUNK = 1024  # ... once some task reads in batches (an HF Dataset): bigger batches per task
_PLAN_AHEAD = 4  # blocks planned together (one permutation call: cycle-walking's tail is paid once)


class _Cursor:
    """Where a walk is: block index, next global position in it, per-task counts at the block's start.

    While a block's pre-formatted examples are being handed out, ``pending`` holds
    ``(iterator, number of examples, first position, world size)``; :meth:`sync` turns what the
    iterator has left into ``offset``.
    """

    __slots__ = ("block", "counts", "done", "offset", "pending")

    def __init__(self, block: int, offset: int, counts: np.ndarray, done: bool = False) -> None:
        self.block, self.offset, self.counts, self.done = block, offset, counts, done
        self.pending: tuple[Iterator[Any], int, int, int] | None = None

    def sync(self) -> None:
        """Bring ``offset`` up to date with the examples handed out of the pending block."""
        if self.pending is not None:
            iterator, total, first, world = self.pending
            served = total - length_hint(iterator)
            if served:
                self.offset = first + (served - 1) * world + 1
            if served == total:
                self.pending = None

    def copy(self) -> _Cursor:
        self.sync()
        return _Cursor(self.block, self.offset, self.counts.copy(), self.done)


class MixtureStream:
    """Iterate ``{"task", "index", "inputs", "targets"}`` (or ``{"task", "index", "text"}``) examples.

    ``data`` maps a task name to random-access raw rows (overriding ``task.load("train")``,
    which is otherwise called lazily, in the first block that draws the task). Iterating advances the
    stream; :meth:`state_dict` records where it is (use one iterator at a time: each ``iter()``
    continues from the current position). See the module docstring for the algorithm.

    ``on_bad_row="skip"`` passes over rows that ``Task.format`` refuses (and unreadable file lines)
    instead of raising ``DataError``; :attr:`skipped_rows` counts them per task, and the counts are
    part of the state, so they survive a resume exactly.
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
        on_bad_row: Literal["error", "skip"] = "error",
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
        if on_bad_row not in ("error", "skip"):
            raise MixtureSpecError(f"on_bad_row must be 'error' or 'skip', got {on_bad_row!r}")
        self.on_bad_row = on_bad_row
        self._skipped: dict[str, int] = {}
        self.mixture = mixture
        self.seed = int(seed)
        self.shard = (int(shard[0]), int(shard[1]))
        self.exhaustion = exhaustion
        self.block_size = block_size
        rates, tasks = mixture.rates, mixture.tasks
        self._names = list(rates)
        self._tasks = [tasks[n] for n in self._names]
        self._probs = np.array([rates[n] for n in self._names], dtype=np.float64)
        cum = np.cumsum(self._probs)
        self._task_at = _GuidedInverseCdf(cum / cum[-1])
        self._sizes = np.array([t.num_train for t in self._tasks], dtype=np.int64)
        self._bits = _domain_bits(self._sizes)
        self._keys = np.array([_task_key(self.seed, n) for n in self._names], dtype=np.uint64)
        self._fingerprint = _mixture_fingerprint(self._names, self._probs, self._sizes)
        unknown = sorted(set(data or {}) - set(self._names))
        if unknown:
            raise MixtureSpecError(f"data= names tasks not in mixture {mixture.name!r}: {unknown}")
        self._data = dict(data or {})
        self._rows: list[Sequence[Mapping[str, Any]] | None] = [None] * len(self._names)
        self._num_loaded = 0
        self._load_errors: dict[int, Exception] = {}  # tid -> why loading failed on the fast path
        self._batched = [False] * len(self._names)  # rows read faster through ``__getitems__`` (an HF Dataset)
        self._any_batched = False
        self._supervised = np.array([not t.self_supervised for t in self._tasks], dtype=bool)
        self._all_supervised = bool(self._supervised.all())
        self._formatters = [None if t.self_supervised else t.formatter for t in self._tasks]
        self._text_getters = [itemgetter(t.text_field) if t.self_supervised else None for t in self._tasks]
        self._plans: dict[tuple[int, bytes], tuple[Any, ...]] = {}
        self._ahead = 1  # blocks the next _plan_ahead call plans (doubling up to _PLAN_AHEAD)
        self._cursor = _Cursor(0, 0, np.zeros(len(self._names), dtype=np.int64))

    def __repr__(self) -> str:
        return (f"MixtureStream({self.mixture.name!r}, seed={self.seed}, shard={self.shard}, "
                f"exhaustion={self.exhaustion!r})")

    # ----------------------------------------------------------------- iteration
    def __iter__(self) -> Iterator[dict[str, Any]]:
        # per example, only C code runs: ``chain`` steps through each chunk's list iterator; the
        # generator below resumes once per chunk of examples
        return chain.from_iterable(self._chunks())

    def _chunks(self) -> Iterator[Iterator[dict[str, Any]]]:
        """An iterator over each chunk's examples, in order; ``cursor.pending`` tracks the one being handed out."""
        cursor = self._cursor
        cursor.sync()
        cursor.pending = None  # an abandoned iterator's block no longer moves the cursor
        world = self.shard[1]
        for block_positions, block_tids, block_indices in self._blocks(cursor):
            at = 0
            while at < len(block_tids):
                chunk = _BATCHED_CHUNK if self._any_batched else _CHUNK  # known once the tasks are loaded
                positions = block_positions[at:at + chunk]
                tids, indices = block_tids[at:at + chunk], block_indices[at:at + chunk]
                at += chunk
                examples = self._format_block(tids, indices)
                if examples is None:  # a row, formatter or load failed: one by one, so the error comes in place
                    cursor.pending = None
                    yield self._format_each(cursor, positions, tids, indices)
                    continue
                pending = iter(examples)
                cursor.pending = (pending, len(examples), positions.start, world)
                yield pending  # state_dict() reads the position from what ``pending`` has left
                cursor.sync()

    def _format_block(self, tids: np.ndarray, indices: np.ndarray) -> Sequence[dict[str, Any]] | None:
        """The examples of one block in order, built by list comprehensions and C-level checks; ``None``
        if anything is unusual (the caller then goes example by example, where ``Task.format`` raises)."""
        rows = self._rows
        if self._num_loaded < len(rows):
            for tid in np.unique(tids).tolist():
                if rows[tid] is None:
                    try:
                        self._load(tid)
                    except Exception as exc:  # broad: re-raised in place by the per-example path, not loaded twice
                        self._load_errors[tid] = exc
                        return None
        if self._all_supervised:
            return self._supervised_examples(tids.tolist(), indices.tolist())
        supervised = self._supervised[tids]
        if supervised.all():
            return self._supervised_examples(tids.tolist(), indices.tolist())
        if not supervised.any():
            return self._text_examples(tids.tolist(), indices.tolist())
        sup, text = np.flatnonzero(supervised), np.flatnonzero(~supervised)
        first = self._supervised_examples(tids[sup].tolist(), indices[sup].tolist())
        second = None if first is None else self._text_examples(tids[text].tolist(), indices[text].tolist())
        if second is None:
            return None
        merged = first + second  # both parts are non-empty, so itemgetter returns a tuple
        return itemgetter(*np.argsort(np.concatenate([sup, text])).tolist())(merged)  # back in position order

    def _supervised_examples(self, tids: list[int], indices: list[int]) -> list[dict[str, Any]] | None:
        # every pass but the formatter calls and the final dicts runs in C (map / itemgetter); a pass through
        # a ``dict`` method raises TypeError on anything else, which sends the chunk to the careful path
        pick = itemgetter(*tids) if len(tids) > 1 else lambda seq: (seq[tids[0]],)
        try:
            rows = self._fetch(tids, indices, pick)
            _touch_tables(rows)  # rows are dicts (BadRow placeholders, other mappings: Task.format decides)
            outs = list(map(call, pick(self._formatters), rows))
            inputs, targets = list(map(_dict_get, outs, _repeat_inputs)), list(map(_dict_get, outs, _repeat_targets))
            if not (_all_text(inputs) and _all_text(targets)):
                return None
        except Exception:  # broad: any failure is re-raised in place, as DataError, by Task.format
            return None
        return [{"task": t, "index": i, "inputs": a, "targets": b}
                for t, i, a, b in zip(pick(self._names), indices, inputs, targets)]

    def _text_examples(self, tids: list[int], indices: list[int]) -> list[dict[str, Any]] | None:
        pick = itemgetter(*tids) if len(tids) > 1 else lambda seq: (seq[tids[0]],)
        try:
            rows = self._fetch(tids, indices, pick)
            _touch_tables(rows)
            texts = list(map(call, pick(self._text_getters), rows))
            if not _all_text(texts):
                return None
        except Exception:  # broad: any failure is re-raised in place, as DataError, by Task.format
            return None
        return [{"task": t, "index": i, "text": x} for t, i, x in zip(pick(self._names), indices, texts)]

    def _fetch(self, tids: list[int], indices: list[int], pick: Callable[[Sequence[Any]], tuple]) -> list[Any]:
        """The raw rows at ``(tids[k], indices[k])``. A task whose rows read faster in batches (an HF
        ``Dataset``: ~2 us a row through ``__getitems__``, ~12 us one at a time) and that is drawn more
        than once here is read with one call; other rows are looked up one by one (in C for lists)."""
        if not self._any_batched or not any(pick(self._batched)):
            return list(map(getitem, pick(self._rows), indices))
        out: list[Any] = [None] * len(tids)
        task_rows, batched, groups = self._rows, self._batched, {}
        for at, (tid, index) in enumerate(zip(tids, indices)):
            if batched[tid]:
                groups.setdefault(tid, []).append(at)
            else:
                out[at] = task_rows[tid][index]
        for tid, positions in groups.items():
            wanted = [indices[at] for at in positions]
            got = task_rows[tid].__getitems__(wanted) if len(wanted) > 1 else [task_rows[tid][wanted[0]]]
            for at, row in zip(positions, got, strict=True):
                out[at] = row
        return out

    def _format_each(self, cursor: _Cursor, positions: range, tids: np.ndarray,
                     indices: np.ndarray) -> Iterator[dict[str, Any]]:
        """The slow path: one example at a time through ``Task.format`` (raises ``DataError`` in place)."""
        names, rows, skip = self._names, self._rows, self.on_bad_row == "skip"
        for j, tid, index in zip(positions, tids.tolist(), indices.tolist()):
            cursor.offset = j + 1
            task_rows = rows[tid]
            if task_rows is None:
                if tid in self._load_errors:  # the fast path already tried: raise its error here, in place
                    raise self._load_errors.pop(tid)
                task_rows = self._load(tid)
            try:
                formatted = self._tasks[tid].format_at(task_rows, index)
            except DataError:
                if not skip:
                    raise
                self._skipped[names[tid]] = self._skipped.get(names[tid], 0) + 1  # counted at its position
                continue
            yield {"task": names[tid], "index": index, **formatted}

    @property
    def skipped_rows(self) -> dict[str, int]:
        """Task -> bad rows skipped so far (``on_bad_row="skip"``), sorted by task; tasks with none are left out."""
        return dict(sorted(self._skipped.items()))

    def schedule(self) -> Iterator[tuple[str, int]]:
        """``(task name, example index)`` pairs this shard serves from the current position on.

        Touches no data and does not advance the stream (a look-ahead from its current state).
        """
        names = self._names
        for _, tids, indices in self._blocks(self._cursor.copy()):
            for tid, index in zip(tids.tolist(), indices.tolist()):
                yield names[tid], index

    def _blocks(self, cursor: _Cursor) -> Iterator[tuple[range, np.ndarray, np.ndarray]]:
        """Per block from ``cursor`` on: the global positions this rank serves, their task ids and example
        indices. The consumer sets ``cursor.offset`` as it goes; this moves the cursor between blocks."""
        rank, world, size = self.shard[0], self.shard[1], self.block_size
        while not cursor.done:
            tids, idx, end_counts, ends = self._plan(cursor.block, cursor.counts)
            start = cursor.offset + (rank - (cursor.block * size + cursor.offset)) % world
            yield range(start, len(tids), world), tids[start::world], idx[start::world]
            if ends:
                cursor.offset, cursor.done = len(tids), True
            else:
                cursor.block, cursor.offset, cursor.counts = cursor.block + 1, 0, end_counts

    # ----------------------------------------------------------------- planning
    def _plan(self, block: int, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
        """Tasks and example indices of every global position of ``block``; counts after it; whether it ends."""
        key = (block, counts.tobytes())
        plan = self._plans.get(key)
        if plan is None:
            self._plans = self._plan_ahead(block, counts)
            plan = self._plans[key]
        return plan

    def _plan_ahead(self, block: int, counts: np.ndarray) -> dict[tuple[int, bytes], tuple[Any, ...]]:
        """Plans of ``_PLAN_AHEAD`` blocks from ``block`` on (fewer if the stream ends), keyed like ``_plan``'s
        cache. One :func:`_permute` call serves them all, so cycle-walking's slow tail is paid once."""
        num_tasks = len(self._names)
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
        sizes = self._sizes[all_tids]
        epoch, offset = np.divmod(np.concatenate([d[3] for d in drawn]), sizes)
        idx = _permute(offset.astype(np.uint64), sizes.astype(np.uint64), self._bits[all_tids],
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
        if task.name in self._data:
            rows = self._data[task.name]
        else:
            rows = task.load("train", on_bad_row=self.on_bad_row)
        n = int(self._sizes[tid])
        if not len(rows):
            raise DataError(f"task {task.name!r} declares {n} train examples but its data has no rows; "
                            f"check its source ({task.source.describe()}) or pass rows with data=")
        self._batched[tid] = not isinstance(rows, (list, tuple)) and callable(getattr(rows, "__getitems__", None))
        self._any_batched = self._any_batched or self._batched[tid]
        if len(rows) < n:
            # the schedule (rates, epochs, resume state) follows the declared size; published sizes and
            # today's copies of a data set often differ by a few rows, which must not stop a run
            warnings.warn(f"task {task.name!r} declares {n} train examples but its data has {len(rows)} rows; "
                          f"example i reads row i mod {len(rows)}, so rows repeat within an epoch; "
                          f"fix num_examples['train'] to match the data", stacklevel=3)
            rows = _Cycled(rows, n)
        elif len(rows) > n:
            warnings.warn(f"task {task.name!r}: data has {len(rows)} rows but declares {n}; "
                          f"only the first {n} are used", stacklevel=3)
        self._rows[tid] = rows
        self._num_loaded += 1
        return rows

    # ----------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        """Where the stream is: O(#tasks) plain data (JSON-compatible)."""
        c = self._cursor
        c.sync()
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
            "skipped": self.skipped_rows,
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
        skipped = state.get("skipped", {})
        if not isinstance(skipped, Mapping) or not set(skipped) <= set(self._names):
            raise ResumeError(f"stream state skipped counts name tasks not in mixture {self.mixture.name!r}")
        self._skipped = {str(k): int(v) for k, v in skipped.items() if int(v) > 0}
        self._cursor = _Cursor(int(state["block"]), int(state["offset"]),
                               np.array([int(counts[n]) for n in self._names], dtype=np.int64),
                               bool(state.get("done", False)))


def _all_text(values: Iterable[Any]) -> bool:
    """Whether every value is a ``str`` with some non-space character (what ``Task.format`` accepts), in one
    C-level pass; raises ``TypeError`` on a value that is not a ``str``."""
    return all(map(str.strip, values))


def _touch_tables(rows: list[dict[str, Any]]) -> None:
    """Read every row's hash table in one tight C loop (a lookup of a key that is almost never there),
    so that the formatter calls that follow find it in cache: the table reads of many rows overlap
    instead of each waiting on main memory in turn. Changes nothing and runs no user code (str keys);
    raises ``TypeError`` if a row is not a ``dict``."""
    deque(map(dict.__contains__, rows, repeat("\0mixlab")), maxlen=0)


def list_or(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


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
    digest = hashlib.blake2b(f"mixlab.stream.permutation\0{seed}\0{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def _mixture_fingerprint(names: list[str], probs: np.ndarray, sizes: np.ndarray) -> str:
    text = json.dumps([names, [float(p).hex() for p in probs], sizes.tolist()])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


__all__ = ["BLOCK_SIZE", "EXHAUSTION", "STATE_VERSION", "MixtureStream"]


class _Cycled(Sequence):
    """``size`` indices over fewer rows: index i reads row i mod len(rows)."""

    def __init__(self, rows: Sequence[Mapping[str, Any]], size: int) -> None:
        self._rows, self._size = rows, size

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, index):  # type: ignore[override]
        return self._rows[index % len(self._rows)]

    def origin(self, index: int) -> str:
        """Where row ``index`` comes from, for error messages (see ``row_origin``)."""
        return self._rows.origin(index % len(self._rows))

    def __getitems__(self, indices: list[int]) -> list[Any]:
        """Batched reads, for rows that have them (see ``MixtureStream._fetch``)."""
        return self._rows.__getitems__([index % len(self._rows) for index in indices])
