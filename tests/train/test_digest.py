"""Batch and example digests (metrics.jsonl ``batch_digests`` / ``example_digests``) on hand-packed batches."""

from __future__ import annotations

import numpy as np

from mixlab.train.digest import batch_digest, example_digest, global_digests
from tests.train.helpers import pack_row, stack_rows

A = (np.array([5, 6, 1]), np.array([7, 1]), 0)
B = (np.array([8, 1]), np.array([9, 9, 1]), 1)
C = (np.array([4, 4, 4, 1]), np.array([3, 1]), 0)


def _batch(*rows):
    return stack_rows([pack_row(list(row), 10, 6) for row in rows], ["t/a", "t/b"])


def test_example_digest_ignores_order_and_placement():
    packed = example_digest(_batch([A, B], [C]))
    assert example_digest(_batch([C], [B, A])) == packed  # other rows, other slots
    assert example_digest(_batch([A], [B], [C], [])) == packed  # one a row, and a padding row
    # summed over processes: the same multiset split over two processes gives the same global digest
    split = global_digests([[example_digest(_batch([A]))], [example_digest(_batch([B, C]))]])
    assert split == global_digests([[packed]])


def test_example_digest_sees_inputs_targets_and_tasks():
    packed = example_digest(_batch([A, B], [C]))
    other_target = (A[0], np.array([8, 1]), A[2])
    other_task = (*A[:2], 1)
    other_input = (np.array([6, 5, 1]), *A[1:])  # the same tokens, another order
    for changed in (other_target, other_task, other_input):
        assert example_digest(_batch([changed, B], [C])) != packed
    assert example_digest(_batch([A, B])) != packed  # one example fewer
    assert example_digest(_batch([])) == 0


def test_batch_digest_follows_order():
    assert batch_digest(_batch([A, B], [C])) == batch_digest(_batch([A, B], [C]))
    assert batch_digest(_batch([C], [A, B])) != batch_digest(_batch([A, B], [C]))
    assert len(batch_digest(_batch([A]))) == 16
