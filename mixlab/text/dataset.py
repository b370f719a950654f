"""``MixtureDataset``: a torch ``IterableDataset`` of batches, sharded over ranks and DataLoader workers.

Each (rank, worker) pair reads shard ``rank * num_workers + worker`` of ``world_size * num_workers``
of the mixture stream, so pairs see disjoint examples and together all of them. Use it with
``DataLoader(dataset, batch_size=None, num_workers=N)``: items are already batches.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from mixlab.text.batching import BatchConfig
from mixlab.text.pipeline import batches


def _rank_and_world(rank: int | None, world_size: int | None) -> tuple[int, int]:
    if rank is not None and world_size is not None:
        return rank, world_size
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


class MixtureDataset(IterableDataset):
    """Batches of torch tensors from ``mixture.stream(seed, shard=...)``.

    ``rank`` / ``world_size`` default to torch.distributed (when initialised), else the ``RANK`` /
    ``WORLD_SIZE`` environment variables, else a single process. ``stream_kwargs`` go to
    ``mixture.stream`` (e.g. ``exhaustion="first"``, ``data=...``).
    """

    def __init__(self, mixture: Any, tokenizer: Any, config: BatchConfig, seed: int = 0, *,
                 rank: int | None = None, world_size: int | None = None, **stream_kwargs: Any) -> None:
        super().__init__()
        self.mixture, self.tokenizer, self.config, self.seed = mixture, tokenizer, config, seed
        self.rank, self.world_size, self.stream_kwargs = rank, world_size, stream_kwargs
        self.task_names = sorted(mixture.rates)

    def shard(self) -> tuple[int, int]:
        """``(index, count)`` of the stream shard this process / worker reads."""
        rank, world = _rank_and_world(self.rank, self.world_size)
        info = get_worker_info()
        worker, num_workers = (info.id, info.num_workers) if info is not None else (0, 1)
        return rank * num_workers + worker, world * num_workers

    def __iter__(self) -> Iterator[dict[str, Any]]:
        stream = self.mixture.stream(self.seed, shard=self.shard(), **self.stream_kwargs)
        for batch in batches(stream, self.tokenizer, self.config, seed=self.seed, task_names=self.task_names):
            yield {key: torch.from_numpy(value) if isinstance(value, np.ndarray) else value
                   for key, value in batch.items()}
