"""What each task really took of the batches: counts on the host, shares in ``metrics.jsonl``.

One counter per log window, fed the host batches (numpy, before the device: no sync)::

    decoder_segment_ids > 0 and decoder_positions == 0   -> one training example, of decoder_task_ids' task
    encoder tokens (segment > 0) of that row and segment -> that task's input tokens
    decoder tokens (segment > 0)                         -> its target tokens
    -> summed over processes at the log step -> task_example_share, task_token_share (each sums to 1)

A batch without these keys (a custom data factory) is not counted, and the record leaves the keys out.
To log more per-task numbers beside these (e.g. target weights), add to :meth:`TaskShares.record`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

KEYS = ("decoder_segment_ids", "decoder_positions", "decoder_task_ids", "encoder_segment_ids")


def count_batch(batch: Mapping[str, Any], num_tasks: int) -> tuple[np.ndarray, np.ndarray] | None:
    """``(examples, tokens)`` per task id in one host batch (tokens: non-padding input + target), or
    ``None`` if the batch lacks the segment and task ids.

    >>> batch = {"decoder_segment_ids": np.array([[1, 1, 2, 0]]), "decoder_positions": np.array([[0, 1, 0, 0]]),
    ...          "decoder_task_ids": np.array([[1, 1, 0, -1]]), "encoder_segment_ids": np.array([[1, 1, 1, 2]])}
    >>> [a.tolist() for a in count_batch(batch, 2)]
    [[1, 1], [2, 5]]
    """
    if not all(key in batch for key in KEYS):
        return None
    dec_seg, dec_task = np.asarray(batch["decoder_segment_ids"]), np.asarray(batch["decoder_task_ids"])
    enc_seg = np.asarray(batch["encoder_segment_ids"])
    starts = (dec_seg > 0) & (np.asarray(batch["decoder_positions"]) == 0)
    examples = np.bincount(dec_task[starts], minlength=num_tasks)
    # the task of each (row, segment), to give the encoder tokens theirs
    row, col = np.nonzero(starts)
    by_segment = np.full((dec_seg.shape[0], int(max(dec_seg.max(initial=0), enc_seg.max(initial=0))) + 1), -1)
    by_segment[row, dec_seg[row, col]] = dec_task[row, col]
    enc_task = by_segment[np.nonzero(enc_seg > 0)[0], enc_seg[enc_seg > 0]]
    targets = np.bincount(dec_task[dec_seg > 0], minlength=num_tasks)
    inputs = np.bincount(enc_task[enc_task >= 0], minlength=num_tasks)
    return examples[:num_tasks], (targets + inputs)[:num_tasks]


class TaskShares:
    """Per-task example and token counts of this process's batches since the last :meth:`record`."""

    def __init__(self, num_tasks: int) -> None:
        self.num_tasks = num_tasks
        self.examples = np.zeros(num_tasks, np.int64)
        self.tokens = np.zeros(num_tasks, np.int64)
        self.counted = True  # False once a batch without segment / task ids went by

    def add(self, batch: Mapping[str, Any]) -> None:
        counts = count_batch(batch, self.num_tasks)
        if counts is None:
            self.counted = False
            return
        self.examples += counts[0]
        self.tokens += counts[1]

    def record(self, task_names: Sequence[str], gather: Callable[[Any], list[Any]]) -> dict[str, Any]:
        """``task_example_share`` and ``task_token_share`` over all processes (``gather``: the backend's
        ``all_gather_object``), tasks without examples left out; then the counts start again."""
        local = (self.counted, self.examples.tolist(), self.tokens.tolist())
        everyone = gather(local)
        self.examples[:] = 0
        self.tokens[:] = 0
        self.counted = True
        if not all(counted for counted, _, _ in everyone):
            return {}
        examples = np.sum([e for _, e, _ in everyone], axis=0)
        tokens = np.sum([t for _, _, t in everyone], axis=0)
        return {"task_example_share": _shares(task_names, examples), "task_token_share": _shares(task_names, tokens)}


def _shares(names: Sequence[str], counts: np.ndarray) -> dict[str, float]:
    total = int(counts.sum())
    return {name: int(c) / total for name, c in zip(names, counts, strict=True) if c > 0} if total else {}


__all__ = ["KEYS", "TaskShares", "count_batch"]
