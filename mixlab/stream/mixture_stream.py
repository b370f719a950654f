"""``MixtureStream``: walks a :class:`~mixlab.stream.schedule.Schedule`, serves formatted examples, saves state.

The walk is a :class:`_Cursor` (block, offset in it, per-task counts at its start); examples are
built a chunk at a time by :class:`~mixlab.stream.rows.Rows` and handed out by ``chain`` without a
Python frame per example. The state follows :mod:`mixlab.resumable`. See :mod:`mixlab.stream`
for the algorithm, the exhaustion policies and what resume guarantees.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from itertools import chain
from operator import length_hint
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from mixlab.errors import DataError, MixtureSpecError, ResumeError
from mixlab.resumable import check_fields, check_state, header
from mixlab.stream.rows import Rows
from mixlab.stream.schedule import Schedule

if TYPE_CHECKING:
    from mixlab.samplers.mixture import Mixture

STATE_KIND = "mixlab.stream"
STATE_VERSION = 3  # 3: kind header (mixlab.resumable) and split; 2: per-epoch permutation over 2**bit_length(n-1)
BLOCK_SIZE = 4096
EXHAUSTION = ("repeat", "first", "all")
_CHUNK = 256  # examples formatted at a time: big enough to amortise, small enough to stay in cache
_BATCHED_CHUNK = 1024  # ... once some task reads in batches (an HF Dataset): bigger batches per task


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

    ``mixture`` needs only ``name``, ``tasks`` (name -> task) and its leaf probabilities
    (``probabilities``, or ``rates`` on older mixtures). ``split`` picks the rows
    (``task.load(split)``) and the sizes (``task.num_examples[split]``). ``data`` maps a task name
    to random-access raw rows (overriding ``task.load(split)``, which is otherwise called lazily, in
    the first block that draws the task). Iterating advances the stream; :meth:`state_dict`
    records where it is (use one iterator at a time: each ``iter()`` continues from the current
    position). See :mod:`mixlab.stream` for the algorithm.

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
        split: str = "train",
    ) -> None:
        _check_arguments(seed, shard, exhaustion, block_size, on_bad_row, split)
        self.mixture = mixture
        self.seed, self.shard = int(seed), (int(shard[0]), int(shard[1]))
        self.exhaustion, self.block_size, self.on_bad_row, self.split = exhaustion, block_size, on_bad_row, split
        probabilities, tasks = _leaf_probabilities(mixture), mixture.tasks
        self._names = list(probabilities)
        task_list = [tasks[n] for n in self._names]
        probs = np.array([probabilities[n] for n in self._names], dtype=np.float64)
        sizes = np.array([_split_size(t, split, mixture.name) for t in task_list], dtype=np.int64)
        self._schedule = Schedule(self._names, probs, sizes, seed=self.seed, block_size=block_size,
                                  exhaustion=exhaustion)
        self._fingerprint = self._schedule.fingerprint()
        unknown = sorted(set(data or {}) - set(self._names))
        if unknown:
            raise MixtureSpecError(f"data= names tasks not in mixture {mixture.name!r}: {unknown}")
        self._rows = Rows(task_list, sizes, split=split, data=data or {}, on_bad_row=on_bad_row)
        self._skipped: dict[str, int] = {}
        self._cursor = _Cursor(0, 0, np.zeros(len(self._names), dtype=np.int64))

    def __repr__(self) -> str:
        return (f"MixtureStream({self.mixture.name!r}, seed={self.seed}, shard={self.shard}, "
                f"exhaustion={self.exhaustion!r}, split={self.split!r})")

    # ----------------------------------------------------------------- iteration
    def __iter__(self) -> Iterator[dict[str, Any]]:
        # per example, only C code runs: ``chain`` steps through each chunk's list iterator; the
        # generator below resumes once per chunk of examples
        return chain.from_iterable(self._chunks())

    def _chunks(self) -> Iterator[Iterator[dict[str, Any]]]:
        """An iterator over each chunk's examples, in order; ``cursor.pending`` tracks the one being handed out."""
        cursor, rows = self._cursor, self._rows
        cursor.sync()
        cursor.pending = None  # an abandoned iterator's block no longer moves the cursor
        rank, world = self.shard
        for block_positions, block_tids, block_indices in self._schedule.blocks(cursor, rank, world):
            at = 0
            while at < len(block_tids):
                chunk = _BATCHED_CHUNK if rows.any_batched else _CHUNK  # known once the tasks are loaded
                positions = block_positions[at:at + chunk]
                tids, indices = block_tids[at:at + chunk], block_indices[at:at + chunk]
                at += chunk
                examples = rows.examples(tids, indices)
                if examples is None:  # a row, formatter or load failed: one by one, so the error comes in place
                    cursor.pending = None
                    yield self._format_each(cursor, positions, tids, indices)
                    continue
                pending = iter(examples)
                cursor.pending = (pending, len(examples), positions.start, world)
                yield pending  # state_dict() reads the position from what ``pending`` has left
                cursor.sync()

    def _format_each(self, cursor: _Cursor, positions: range, tids: np.ndarray,
                     indices: np.ndarray) -> Iterator[dict[str, Any]]:
        """The careful path: one example at a time through ``Task.format`` (raises ``DataError`` in place)."""
        names, rows, skip, split = self._names, self._rows, self.on_bad_row == "skip", self.split
        for j, tid, index in zip(positions, tids.tolist(), indices.tolist(), strict=True):
            cursor.offset = j + 1
            task_rows = rows.rows_of(tid)  # a failed load raises here, in place, whatever on_bad_row
            try:
                formatted = rows.tasks[tid].format_at(task_rows, index, split)
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
        for _, tids, indices in self._schedule.blocks(self._cursor.copy(), *self.shard):
            for tid, index in zip(tids.tolist(), indices.tolist(), strict=True):
                yield names[tid], index

    # ----------------------------------------------------------------- state
    def _settings(self) -> dict[str, Any]:
        """What a saved state must match to resume this stream."""
        return {"mixture": self.mixture.name, "split": self.split, "mixture_fingerprint": self._fingerprint,
                "seed": self.seed, "shard": list(self.shard), "exhaustion": self.exhaustion,
                "block_size": self.block_size}

    def state_dict(self) -> dict[str, Any]:
        """Where the stream is: O(#tasks) plain data (JSON-compatible)."""
        c = self._cursor
        c.sync()
        counts = dict(zip(self._names, c.counts.tolist(), strict=True))
        return {**header(STATE_KIND, STATE_VERSION), **self._settings(), "block": c.block, "offset": c.offset,
                "done": c.done, "counts": counts, "skipped": self.skipped_rows}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from ``state``; refuses state from another mixture, split, seed, shard, policy or version.

        Call it before iterating: the next ``iter(stream)`` starts at the saved position (an
        iterator made earlier keeps its own position and no longer updates ``state_dict``).
        """
        check_state(state, STATE_KIND, STATE_VERSION)
        check_fields(state, self._settings(), f"stream of mixture {self.mixture.name!r}",
                     "build the stream with the same mixture, split, seed, shard, exhaustion and block_size")
        counts = state.get("counts")
        if not isinstance(counts, Mapping) or sorted(counts) != self._names:
            raise ResumeError(f"stream state counts do not list mixture {self.mixture.name!r}'s {len(self._names)} "
                              f"tasks; fix: pass the state this stream's state_dict() returned")
        skipped = state.get("skipped", {})
        if not isinstance(skipped, Mapping) or not set(skipped) <= set(self._names):
            raise ResumeError(f"stream state skipped counts name tasks not in mixture {self.mixture.name!r}; "
                              f"fix: pass the state this stream's state_dict() returned")
        self._skipped = {str(k): int(v) for k, v in skipped.items() if int(v) > 0}
        self._cursor = _Cursor(int(state["block"]), int(state["offset"]),
                               np.array([int(counts[n]) for n in self._names], dtype=np.int64),
                               bool(state.get("done", False)))


# --------------------------------------------------------------------- checks
def _check_arguments(seed: Any, shard: Any, exhaustion: Any, block_size: Any, on_bad_row: Any, split: Any) -> None:
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
    if not isinstance(split, str) or not split:
        raise MixtureSpecError(f"split must be a split name such as 'train' or 'validation', got {split!r}")


def _leaf_probabilities(mixture: Any) -> Mapping[str, float]:
    """Leaf task name -> probability, sorted by name (``probabilities``, or ``rates`` on older mixtures)."""
    probabilities = getattr(mixture, "probabilities", None)
    return probabilities if isinstance(probabilities, Mapping) else mixture.rates


def _split_size(task: Any, split: str, mixture_name: str) -> int:
    """The declared size of ``split`` of ``task``; a ``MixtureSpecError`` naming the fix if it has none."""
    size = task.num_examples.get(split)
    if size is None:
        raise MixtureSpecError(f"task {task.name!r} of mixture {mixture_name!r} has no {split!r} split (it declares "
                               f"{sorted(task.num_examples)}); fix: stream another split, or leave the task out of "
                               f"the mixture for this split")
    return int(size)


__all__ = ["BLOCK_SIZE", "EXHAUSTION", "STATE_VERSION", "MixtureStream"]
