"""Shared helpers for the training tests: hand-built batches in mixlab's batch format."""

from __future__ import annotations

import numpy as np


def pack_row(examples, input_length, target_length):
    """One packed row from (input ids, target ids, task id) triples, the contract's way."""
    row = {k: np.zeros(input_length, np.int32) for k in ("input_ids", "encoder_segment_ids", "encoder_positions")}
    row.update({k: np.zeros(target_length, np.int32) for k in
                ("decoder_input_ids", "decoder_segment_ids", "decoder_positions")})
    row["labels"] = np.full(target_length, -100, np.int32)
    row["decoder_task_ids"] = np.full(target_length, -1, np.int32)
    i = t = 0
    for seg, (inputs, targets, task) in enumerate(examples, start=1):
        n, m = len(inputs), len(targets)
        row["input_ids"][i:i + n] = inputs
        row["encoder_segment_ids"][i:i + n] = seg
        row["encoder_positions"][i:i + n] = np.arange(n)
        row["labels"][t:t + m] = targets
        row["decoder_input_ids"][t + 1:t + m] = targets[:-1]
        row["decoder_segment_ids"][t:t + m] = seg
        row["decoder_positions"][t:t + m] = np.arange(m)
        row["decoder_task_ids"][t:t + m] = task
        i, t = i + n, t + m
    row["attention_mask"] = (row["encoder_segment_ids"] > 0).astype(np.int32)
    return row


def stack_rows(rows, task_names):
    batch = {k: np.stack([r[k] for r in rows]) for k in rows[0]}
    batch["task_names"] = list(task_names)
    return batch
