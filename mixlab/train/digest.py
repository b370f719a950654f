"""Digests of training batches, to check from outside which data a run trained on.

``batch_digest``: a short hash of one process's host batch (``input_ids`` and ``labels``, order included).
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


__all__ = ["batch_digest"]
