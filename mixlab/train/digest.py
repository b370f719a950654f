"""Digests of training batches, to check from outside which data a run trained on.

``batch_digest``: a short hash of one process's host batch (``input_ids`` and ``labels``, order included).
``example_digest``: the sum (mod 2**64) of one hash per example of a batch, each from the example's
input tokens, target tokens (with their positions in the example) and task: the same whatever row or
slot the example was packed into and whatever the order. Summed over processes it is a digest of the
step's global batch as a multiset of examples (``global_digests``), the same on any number of
processes when the global batch holds the same examples (metrics.jsonl ``example_digests``).
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np


def batch_digest(batch: dict[str, Any]) -> str:
    """A short hash of a host batch's ``input_ids`` and ``labels`` (numpy, before the device: no sync)."""
    digest = hashlib.blake2b(digest_size=8)
    for key in ("input_ids", "labels"):
        array = np.ascontiguousarray(batch[key])
        digest.update(f"{key}{array.dtype.str}{array.shape}".encode())
        digest.update(array.data)
    return digest.hexdigest()


_MASK = (1 << 64) - 1
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser (wrapping uint64 arithmetic)."""
    z = z ^ (z >> np.uint64(30))
    z = z * _M1
    z = z ^ (z >> np.uint64(27))
    z = z * _M2
    return z ^ (z >> np.uint64(31))


def _segment_hashes(tokens: np.ndarray, segments: np.ndarray, positions: np.ndarray, salt: int,
                    tags: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per segment of the rows: key (row * 2**32 + segment), the wrapped sum of mix(token, position, salt) over
    its tokens, and ``tags`` at its first token (zeros without)."""
    rows, cols = np.nonzero(segments > 0)  # row-major: a row's segments are contiguous runs
    keys = rows.astype(np.uint64) << np.uint64(32) | segments[rows, cols].astype(np.uint64)
    if not len(keys):
        return keys, keys.copy(), keys.copy()
    with np.errstate(over="ignore"):
        values = _mix(tokens[rows, cols].astype(np.int64).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
                      ^ positions[rows, cols].astype(np.uint64) << np.uint64(40) ^ np.uint64(salt))
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        first = np.zeros(len(starts), np.uint64) if tags is None else \
            (tags[rows[starts], cols[starts]].astype(np.int64) & 0xFFFF).astype(np.uint64)
        return keys[starts], np.add.reduceat(values, starts), first


def example_digest(batch: dict[str, Any]) -> int:
    """The wrapped sum of one 64-bit hash per example of a packed batch (order- and placement-independent)."""
    keys, inputs, _ = _segment_hashes(batch["input_ids"], batch["encoder_segment_ids"], batch["encoder_positions"], 1)
    labels = np.where(batch["labels"] >= 0, batch["labels"], 0)
    dec_keys, targets, tasks = _segment_hashes(labels, batch["decoder_segment_ids"], batch["decoder_positions"], 2,
                                               batch["decoder_task_ids"])
    # each input segment's target hash and task (0 when it has no target segment)
    target, task = np.zeros(len(keys), np.uint64), np.zeros(len(keys), np.uint64)
    if len(dec_keys):
        at = np.minimum(np.searchsorted(dec_keys, keys), len(dec_keys) - 1)
        found = dec_keys[at] == keys
        target[found], task[found] = targets[at[found]], tasks[at[found]]
    with np.errstate(over="ignore"):
        mixed = _mix((inputs * np.uint64(0x2545F4914F6CDD1D) + target) ^ task << np.uint64(48))
        return int(np.sum(mixed, dtype=np.uint64))


def global_digests(per_process: list[list[int]]) -> list[str]:
    """Per step, the sum over processes of their ``example_digest`` values, as 16 hex digits."""
    return [f"{sum(values) & _MASK:016x}" for values in zip(*per_process, strict=True)]


__all__ = ["batch_digest", "example_digest", "global_digests"]
