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

from mixlab._checks import is_finite_number
from mixlab.errors import DataError, MixtureSpecError, ResumeError
from mixlab.resumable import check_fields, check_state, header
from mixlab.stream.rows import Rows
from mixlab.stream.schedule import Schedule

if TYPE_CHECKING:
    from mixlab.samplers.mixture import Mixture

STATE_KIND = "mixlab.stream"
STATE_VERSION = 4  # 4: weights in force at the block start and later changes; 3: kind header and split;
#                   2: per-epoch permutation over 2**bit_length(n-1)
BLOCK_SIZE = 4096
EXHAUSTION = ("repeat", "first", "all")
_CHUNK = 256  # examples formatted at a time: big enough to amortise, small enough to stay in cache
_BATCHED_CHUNK = 1024  # ... once some task reads in batches (an HF Dataset): bigger batches per task


class _Cursor:
    """Where a walk is: block index, next global position in it, per-task counts at the block's start.

    While a block's pre-formatted examples are being handed out, ``pending`` holds
    ``(iterator, number of examples, first position, world size, the examples' list)``; :meth:`sync`
    turns what the iterator has left into ``offset``.
    """

    __slots__ = ("block", "counts", "done", "offset", "pending")

    def __init__(self, block: int, offset: int, counts: np.ndarray, done: bool = False) -> None:
        self.block, self.offset, self.counts, self.done = block, offset, counts, done
        self.pending: tuple[Iterator[Any], int, int, int, list[Any]] | None = None

    def sync(self) -> None:
        """Bring ``offset`` up to date with the examples handed out of the pending block."""
        if self.pending is not None:
            iterator, total, first, world, _ = self.pending
            served = total - length_hint(iterator)
            if served:
                self.offset = first + (served - 1) * world + 1
            if served == total:
                self.pending = None

    def cut(self, position: int, block_size: int) -> None:
        """Drop the pending examples at global positions ``>= position`` (the iterator stops before them)."""
        self.sync()
        if self.pending is not None:
            iterator, total, first, world, examples = self.pending
            keep = max(0, -(-(position - self.block * block_size - first) // world))
            if keep < total:
                del examples[keep:]  # a list iterator checks the length at every step
                self.pending = (iterator, keep, first, world, examples)
                self.sync()

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

    :meth:`set_probabilities` changes the leaf probabilities from a global position on (at the
    earliest the next one this shard serves); the state records the change, so resuming reproduces it.
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
        self._generation = 0  # bumped by every weight change: iterators re-plan from the cursor

    def __repr__(self) -> str:
        return (f"MixtureStream({self.mixture.name!r}, seed={self.seed}, shard={self.shard}, "
                f"exhaustion={self.exhaustion!r}, split={self.split!r})")

    # ----------------------------------------------------------------- iteration
    def __iter__(self) -> Iterator[dict[str, Any]]:
        # per example, only C code runs: ``chain`` steps through each chunk's list iterator; the
        # generator below resumes once per chunk of examples
        return chain.from_iterable(self._chunks())

    def _chunks(self) -> Iterator[Iterator[dict[str, Any]]]:
        """An iterator over each chunk's examples, in order; ``cursor.pending`` tracks the one being handed out.

        After a weight change (:meth:`set_probabilities`) the walk starts again from the cursor, so the
        positions from the change on are planned with the new weights."""
        cursor, rows = self._cursor, self._rows
        cursor.sync()
        cursor.pending = None  # an abandoned iterator's block no longer moves the cursor
        rank, world = self.shard
        changed = True
        while changed:
            changed, generation = False, self._generation
            for block_positions, block_tids, block_indices in self._schedule.blocks(cursor, rank, world):
                at = 0
                while at < len(block_tids) and not changed:
                    chunk = _BATCHED_CHUNK if rows.any_batched else _CHUNK  # known once the tasks are loaded
                    positions = block_positions[at:at + chunk]
                    tids, indices = block_tids[at:at + chunk], block_indices[at:at + chunk]
                    at += chunk
                    examples = rows.examples(tids, indices)
                    if examples is None:  # a row, formatter or load failed: one by one, so the error comes in place
                        cursor.pending = None
                        yield self._format_each(cursor, positions, tids, indices, generation)
                    else:
                        examples = examples if isinstance(examples, list) else list(examples)
                        pending = iter(examples)
                        cursor.pending = (pending, len(examples), positions.start, world, examples)
                        yield pending  # state_dict() reads the position from what ``pending`` has left
                        cursor.sync()
                    changed = self._generation != generation
                if changed:
                    break

    def _format_each(self, cursor: _Cursor, positions: range, tids: np.ndarray,
                     indices: np.ndarray, generation: int) -> Iterator[dict[str, Any]]:
        """The careful path: one example at a time through ``Task.format`` (raises ``DataError`` in place)."""
        names, rows, skip, split = self._names, self._rows, self.on_bad_row == "skip", self.split
        for j, tid, index in zip(positions, tids.tolist(), indices.tolist(), strict=True):
            if self._generation != generation:  # the weights changed: the rest is planned again
                return
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

    def loaded_rows(self) -> dict[str, Sequence[Mapping[str, Any]]]:
        """Task -> rows loaded so far: ``data=`` for another stream over the same tasks and split (no reload)."""
        return self._rows.loaded()

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

    # ----------------------------------------------------------------- weights that change
    @property
    def position(self) -> int:
        """The global position after the last example this shard served (the block start before any):
        the earliest position a weight change can take effect at."""
        c = self._cursor
        c.sync()
        return c.block * self.block_size + c.offset

    @property
    def probabilities(self) -> dict[str, float]:
        """Leaf task -> probability in force at :attr:`position` (sorted by name)."""
        probs = self._schedule.probabilities_at(self.position)
        return dict(zip(self._names, probs.tolist(), strict=True))

    @property
    def changes(self) -> list[tuple[int, dict[str, float]]]:
        """``(global position, probabilities)`` of every weight change this stream knows from its block on."""
        return [(start, dict(zip(self._names, probs.tolist(), strict=True)))
                for start, probs in self._schedule.segments[1:]]

    def set_probabilities(self, probabilities: Mapping[str, float] | Sequence[float],
                          at_position: int | None = None) -> None:
        """Draw with ``probabilities`` (task -> weight, or weights in :attr:`task_names` order; normalised)
        from global position ``at_position`` on (default: :attr:`position`, i.e. the next example).

        ``at_position`` may not be earlier than :attr:`position` (examples served there cannot change:
        :class:`~mixlab.MixtureSpecError`). A change replaces changes set at or after ``at_position``.
        Examples already formatted past it are dropped and drawn again, so an iterator in use follows the
        change at the exact position; the state records it (see :meth:`state_dict`)."""
        probs = self._check_probabilities(probabilities)
        here = self.position
        at = here if at_position is None else at_position
        if isinstance(at, bool) or not isinstance(at, (int, np.integer)) or at < here:
            raise MixtureSpecError(f"stream of mixture {self.mixture.name!r} (shard {self.shard}) has served up to "
                                   f"global position {here}; a weight change at {at_position!r} would rewrite "
                                   f"served examples; fix: pass at_position >= {here} (or None for the next one)")
        self._cursor.cut(int(at), self.block_size)
        self._schedule.change(int(at), probs)
        self._generation += 1

    @property
    def task_names(self) -> list[str]:
        """The leaf tasks, sorted by name (the order of weight vectors)."""
        return list(self._names)

    def _check_probabilities(self, probabilities: Mapping[str, float] | Sequence[float]) -> np.ndarray:
        where = f"stream of mixture {self.mixture.name!r}"
        if isinstance(probabilities, Mapping):
            unknown = sorted(set(probabilities) - set(self._names))
            missing = sorted(set(self._names) - set(probabilities))
            if unknown or missing:
                raise MixtureSpecError(f"{where}: new probabilities name unknown tasks {unknown[:5]} or miss "
                                       f"{missing[:5]}; fix: give a weight (0 allowed) for each of "
                                       f"{self._names[:5]}...")
            values = [probabilities[n] for n in self._names]
        else:
            values = list(probabilities)
            if len(values) != len(self._names):
                raise MixtureSpecError(f"{where}: {len(values)} new probabilities for {len(self._names)} tasks; "
                                       f"fix: one per task, in task_names order")
        probs = np.array([float(v) if is_finite_number(v) else np.nan for v in values], dtype=np.float64)
        if not np.isfinite(probs).all() or probs.sum() <= 0:
            raise MixtureSpecError(f"{where}: new probabilities must be finite numbers >= 0, not all 0; got "
                                   f"{values[:8]!r}; fix: pass such weights")
        return probs / probs.sum()

    def with_changes(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """An older ``state`` of this stream (taken since it was built or loaded) with the weight changes set
        after it was taken added, so that resuming from it replays them too. Forgets changes before it."""
        start = int(state["block"]) * self.block_size
        self._schedule.forget_before(start)
        later = [[position, probs.tolist()] for position, probs in self._schedule.segments if position > start]
        return {**state, "changes": later}

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
        start = c.block * self.block_size
        later = [[position, probs.tolist()] for position, probs in self._schedule.segments if position > start]
        return {**header(STATE_KIND, STATE_VERSION), **self._settings(), "block": c.block, "offset": c.offset,
                "done": c.done, "counts": counts, "skipped": self.skipped_rows,
                "probabilities": self._schedule.probabilities_at(start).tolist(), "changes": later}

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
        block = int(state["block"])
        self._schedule.set_segments(self._saved_segments(state, block * self.block_size))
        self._cursor = _Cursor(block, int(state["offset"]),
                               np.array([int(counts[n]) for n in self._names], dtype=np.int64),
                               bool(state.get("done", False)))
        self._generation += 1

    def _saved_segments(self, state: Mapping[str, Any], start: int) -> list[tuple[int, np.ndarray]]:
        """The weights timeline a state records: in force at its block's ``start``, then its later changes."""
        fix = "fix: pass the state this stream's state_dict() returned"
        try:
            segments = [(start, self._check_probabilities(state["probabilities"]))]
            for position, probs in state["changes"]:
                if int(position) <= segments[-1][0]:
                    raise ResumeError(f"stream state changes are not in increasing position order after {start}")
                segments.append((int(position), self._check_probabilities(probs)))
        except (KeyError, TypeError, ValueError) as exc:
            raise ResumeError(f"stream state of mixture {self.mixture.name!r} has no valid weights timeline "
                              f"(probabilities, changes): {exc}; {fix}") from None
        return segments


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
    """Leaf task name -> probability, sorted by name (``probabilities``, or ``rates`` on older mixtures);
    a scheduled mixture (its description has ``schedule`` stages) starts with its first stage's."""
    probabilities = getattr(mixture, "probabilities", None)
    probabilities = probabilities if isinstance(probabilities, Mapping) else mixture.rates
    stages = (getattr(mixture, "description", None) or {}).get("schedule")
    if stages:
        first = stages[0]["probabilities"]
        return {name: float(first.get(name, 0.0)) for name in probabilities}
    return probabilities


def _split_size(task: Any, split: str, mixture_name: str) -> int:
    """The declared size of ``split`` of ``task``; a ``MixtureSpecError`` naming the fix if it has none."""
    size = task.num_examples.get(split)
    if size is None:
        raise MixtureSpecError(f"task {task.name!r} of mixture {mixture_name!r} has no {split!r} split (it declares "
                               f"{sorted(task.num_examples)}); fix: stream another split, or leave the task out of "
                               f"the mixture for this split")
    return int(size)


__all__ = ["BLOCK_SIZE", "EXHAUSTION", "STATE_VERSION", "MixtureStream"]
