"""``Ragged``: many variable-length int32 rows stored as one flat array plus row lengths."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class Ragged:
    """Rows ``values[offsets[i]:offsets[i + 1]]``; the pipeline's unit of vectorised work."""

    __slots__ = ("lengths", "offsets", "values")

    def __init__(self, values: np.ndarray, lengths: np.ndarray) -> None:
        self.values = np.asarray(values, dtype=np.int32)
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.offsets = np.zeros(len(self.lengths) + 1, dtype=np.int64)
        np.cumsum(self.lengths, out=self.offsets[1:])
        assert self.offsets[-1] == len(self.values), (self.offsets[-1], len(self.values))

    @classmethod
    def from_rows(cls, rows: Sequence[Sequence[int] | np.ndarray]) -> Ragged:
        lengths = np.array([len(row) for row in rows], dtype=np.int64)
        values = np.concatenate([np.asarray(row, dtype=np.int32) for row in rows]) if len(rows) else np.zeros(0)
        return cls(values.astype(np.int32, copy=False), lengths)

    @classmethod
    def empty(cls, lengths: np.ndarray) -> Ragged:
        """Rows of the given lengths, values not yet written (to fill in place)."""
        lengths = np.asarray(lengths, dtype=np.int64)
        return cls(np.empty(int(lengths.sum()), dtype=np.int32), lengths)

    @classmethod
    def concat(cls, parts: Sequence[Ragged]) -> Ragged:
        if not parts:
            return cls(np.zeros(0, np.int32), np.zeros(0, np.int64))
        return cls(np.concatenate([p.values for p in parts]), np.concatenate([p.lengths for p in parts]))

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, i: int) -> np.ndarray:
        return self.values[self.offsets[i]:self.offsets[i + 1]]

    def take(self, index: np.ndarray) -> Ragged:
        """Rows ``index`` (any order), gathered without a Python loop."""
        index = np.asarray(index, dtype=np.int64)
        lengths = self.lengths[index]
        starts = np.repeat(self.offsets[index] - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
        return Ragged(self.values[starts + np.arange(int(lengths.sum()))], lengths)

    def to_list(self) -> list[np.ndarray]:
        return [self[i] for i in range(len(self))]

    def padded(self, width: int | None = None, pad: int = 0) -> np.ndarray:
        """Dense ``[rows, width]`` array, rows left-aligned and padded with ``pad``; longer rows are cut."""
        width = int(self.lengths.max(initial=0)) if width is None else width
        out = np.full((len(self), width), pad, dtype=np.int32)
        cols = np.arange(len(self.values)) - np.repeat(self.offsets[:-1], self.lengths)
        rows = np.repeat(np.arange(len(self)), self.lengths)
        keep = cols < width
        out[rows[keep], cols[keep]] = self.values[keep]
        return out


def append_token(values: np.ndarray, lengths: np.ndarray, token: int) -> Ragged:
    """Ragged rows of ``values`` (concatenated) with ``token`` appended to every row."""
    lengths = np.asarray(lengths, dtype=np.int64) + 1
    out = np.empty(int(lengths.sum()), dtype=np.int32)
    ends = np.cumsum(lengths) - 1
    body = np.ones(len(out), dtype=bool)
    body[ends] = False
    out[body] = values
    out[ends] = token
    return Ragged(out, lengths)
