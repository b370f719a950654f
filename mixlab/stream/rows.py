"""Rows and formatting: a stream's raw rows per task, read and turned into examples a chunk at a time.

The fast path (:meth:`Rows.examples`) formats a chunk with C-level ``map``/``itemgetter`` passes and
one list comprehension: rows are fetched (with one ``__getitems__`` call per task for rows that read
faster in batches, an HF ``Dataset``), their hash tables touched in one tight loop, each task's
reader applied (the formatter of a supervised task, ``itemgetter(text_field)`` of a self-supervised
one), and every value checked to be non-blank text. Anything unusual (a failed load, a formatter
that raises or returns something other than a ``dict`` of ``str``, a missing text) makes it return
``None``; the caller then redoes the chunk one example at a time through ``Task.format_at`` (rows
from :meth:`Rows.rows_of`), which raises the ``DataError`` of ``Task.format`` at the exact position.
"""

from __future__ import annotations

import warnings
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import repeat
from operator import call, getitem, itemgetter
from typing import TYPE_CHECKING, Any

import numpy as np

from mixlab.errors import DataError

if TYPE_CHECKING:
    from mixlab.registry.task import Task

_dict_get = dict.__getitem__  # raises TypeError on a formatter output that is not a dict


def _pairs(names: Iterable[str], indices: list[int], inputs: list[str], targets: list[str]) -> list[dict[str, Any]]:
    return [{"task": t, "index": i, "inputs": a, "targets": b}
            for t, i, a, b in zip(names, indices, inputs, targets, strict=True)]


def _texts(names: Iterable[str], indices: list[int], texts: list[str]) -> list[dict[str, Any]]:
    return [{"task": t, "index": i, "text": x} for t, i, x in zip(names, indices, texts, strict=True)]


# What a task's reader gives, by kind: the keys read out of it ("" = the value itself) and the example
# builder (a literal-dict comprehension per kind: about twice as fast as building dicts from the keys).
_SUPERVISED = (("inputs", "targets"), _pairs)
_TEXT = (("",), _texts)


class Rows:
    """The rows of every task of a stream (``split``), loaded on first use; formats chunks of examples.

    ``data`` maps a task name to rows that override ``task.load(split)``. Task ids are positions
    in ``tasks``; ``sizes`` are the declared sizes the schedule follows.
    """

    def __init__(self, tasks: Sequence[Task], sizes: np.ndarray, *, split: str,
                 data: Mapping[str, Sequence[Mapping[str, Any]]], on_bad_row: str) -> None:
        self.tasks, self.sizes, self.split, self.on_bad_row = list(tasks), sizes, split, on_bad_row
        self.names = [t.name for t in self.tasks]
        self._data = dict(data)
        self._rows: list[Sequence[Mapping[str, Any]] | None] = [None] * len(self.tasks)
        self._num_loaded = 0
        self._load_errors: dict[int, Exception] = {}  # tid -> why loading failed on the fast path
        self._batched = [False] * len(self.tasks)  # rows read faster through ``__getitems__`` (an HF Dataset)
        self.any_batched = False
        self._supervised = np.array([not t.self_supervised for t in self.tasks], dtype=bool)
        self._all_supervised = bool(self._supervised.all())
        self._readers = [itemgetter(t.text_field) if t.self_supervised else t.formatter for t in self.tasks]

    # ----------------------------------------------------------------- fast path
    def examples(self, tids: np.ndarray, indices: np.ndarray) -> Sequence[dict[str, Any]] | None:
        """The examples at ``(tids[k], indices[k])`` in order; ``None`` if anything is unusual (the caller
        then goes example by example through ``Task.format_at``, which raises in place)."""
        rows = self._rows
        if self._num_loaded < len(rows):
            for tid in np.unique(tids).tolist():
                if rows[tid] is None:
                    try:
                        self.load(tid)
                    except Exception as exc:  # noqa: BLE001 - re-raised in place by the careful path, not loaded twice
                        self._load_errors[tid] = exc
                        return None
        if self._all_supervised:
            return self._read(tids.tolist(), indices.tolist(), _SUPERVISED)
        supervised = self._supervised[tids]
        if supervised.all():
            return self._read(tids.tolist(), indices.tolist(), _SUPERVISED)
        if not supervised.any():
            return self._read(tids.tolist(), indices.tolist(), _TEXT)
        sup, text = np.flatnonzero(supervised), np.flatnonzero(~supervised)
        first = self._read(tids[sup].tolist(), indices[sup].tolist(), _SUPERVISED)
        second = None if first is None else self._read(tids[text].tolist(), indices[text].tolist(), _TEXT)
        if first is None or second is None:
            return None
        merged = first + second  # both parts are non-empty, so itemgetter returns a tuple
        return itemgetter(*np.argsort(np.concatenate([sup, text])).tolist())(merged)  # back in position order

    def _read(self, tids: list[int], indices: list[int], kind: tuple[tuple[str, ...], Callable[..., Any]]
              ) -> list[dict[str, Any]] | None:
        """Examples of one kind (:data:`_SUPERVISED` or :data:`_TEXT`). Every pass but the readers' calls and
        the final dicts runs in C (map / itemgetter); a pass through a ``dict`` method raises TypeError on
        anything else, which sends the chunk to the careful path."""
        keys, build = kind
        pick = itemgetter(*tids) if len(tids) > 1 else lambda seq: (seq[tids[0]],)
        try:
            rows = self._fetch(tids, indices, pick)
            _touch_tables(rows)  # rows are dicts (BadRow placeholders, other mappings: Task.format decides)
            values = list(map(call, pick(self._readers), rows))
            columns = [list(map(_dict_get, values, repeat(key))) if key else values for key in keys]
            if not all(map(_all_text, columns)):
                return None
        except Exception:  # noqa: BLE001 - any failure is re-raised in place, as DataError, by Task.format
            return None
        return build(pick(self.names), indices, *columns)

    def _fetch(self, tids: list[int], indices: list[int], pick: Callable[[Sequence[Any]], tuple]) -> list[Any]:
        """The raw rows at ``(tids[k], indices[k])``. A task whose rows read faster in batches (an HF
        ``Dataset``: ~2 us a row through ``__getitems__``, ~12 us one at a time) and that is drawn more
        than once here is read with one call; other rows are looked up one by one (in C for lists)."""
        if not self.any_batched or not any(pick(self._batched)):
            return list(map(getitem, pick(self._rows), indices))
        out: list[Any] = [None] * len(tids)
        task_rows, batched = self._rows, self._batched
        groups: dict[int, list[int]] = {}
        for at, (tid, index) in enumerate(zip(tids, indices, strict=True)):
            if batched[tid]:
                groups.setdefault(tid, []).append(at)
            else:
                out[at] = task_rows[tid][index]  # type: ignore[index]
        for tid, positions in groups.items():
            wanted = [indices[at] for at in positions]
            rows = task_rows[tid]
            got = rows.__getitems__(wanted) if len(wanted) > 1 else [rows[wanted[0]]]  # type: ignore[union-attr,index]
            for at, row in zip(positions, got, strict=True):
                out[at] = row
        return out

    def loaded(self) -> dict[str, Sequence[Mapping[str, Any]]]:
        """Task name -> the rows loaded so far (fitted to the declared size): pass them as ``data=`` to a new
        stream over the same tasks to skip loading them again."""
        return {name: rows for name, rows in zip(self.names, self._rows, strict=True) if rows is not None}

    # ----------------------------------------------------------------- careful path
    def rows_of(self, tid: int) -> Sequence[Mapping[str, Any]]:
        """The rows of task ``tid``, loaded now if need be (a failed load raises its ``DataError`` here)."""
        task_rows = self._rows[tid]
        if task_rows is None:
            if tid in self._load_errors:  # the fast path already tried: raise its error here, in place
                raise self._load_errors.pop(tid)
            task_rows = self.load(tid)
        return task_rows

    # ----------------------------------------------------------------- loading
    def load(self, tid: int) -> Sequence[Mapping[str, Any]]:
        """Load (or take from ``data``) the rows of task ``tid``, fitted to its declared size."""
        task, split = self.tasks[tid], self.split
        rows = self._data[task.name] if task.name in self._data else task.load(split, on_bad_row=self.on_bad_row)
        n = int(self.sizes[tid])
        if not len(rows):
            raise DataError(f"task {task.name!r} declares {n} {split} examples but its data has no rows; "
                            f"check its source ({task.source.describe()}) or pass rows with data=")
        self._batched[tid] = not isinstance(rows, (list, tuple)) and callable(getattr(rows, "__getitems__", None))
        self.any_batched = self.any_batched or self._batched[tid]
        if len(rows) < n:
            # the schedule (rates, epochs, resume state) follows the declared size; published sizes and
            # today's copies of a data set often differ by a few rows, which must not stop a run
            warnings.warn(f"task {task.name!r} declares {n} {split} examples but its data has {len(rows)} rows; "
                          f"example i reads row i mod {len(rows)}, so rows repeat within an epoch; "
                          f"fix num_examples[{split!r}] to match the data", stacklevel=3)
            rows = _Cycled(rows, n)
        elif len(rows) > n:
            warnings.warn(f"task {task.name!r}: data has {len(rows)} rows but declares {n}; "
                          f"only the first {n} are used", stacklevel=3)
        self._rows[tid] = rows
        self._num_loaded += 1
        return rows


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


class _Cycled(Sequence):
    """``size`` indices over fewer rows: index i reads row i mod len(rows)."""

    def __init__(self, rows: Sequence[Mapping[str, Any]], size: int) -> None:
        self._rows, self._size = rows, size

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, index):  # an int (cycled); a slice is not supported
        return self._rows[index % len(self._rows)]

    def origin(self, index: int) -> str:
        """Where row ``index`` comes from, for error messages (see ``row_origin``)."""
        return self._rows.origin(index % len(self._rows))  # type: ignore[attr-defined]

    def __getitems__(self, indices: list[int]) -> list[Any]:
        """Batched reads, for rows that have them (see :meth:`Rows._fetch`)."""
        return self._rows.__getitems__([index % len(self._rows) for index in indices])  # type: ignore[attr-defined]


__all__ = ["Rows"]
