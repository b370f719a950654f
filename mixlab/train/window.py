"""What the training loop sums between two log lines: device-side losses, host-side counts.

:class:`LogWindow` keeps the loss, correct-token and per-task sums on the device (adding to them
needs no host sync) and reduces them over processes once per log line; the host-side token counts,
data-wait time, batch digests and task shares come from the host batches.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from mixlab.backends import Backend
from mixlab.train.shares import TaskShares


class LogWindow:
    """Device-side sums over the steps since the last log (no host sync until ``reduce``)."""

    def __init__(self, num_tasks: int, device: Any) -> None:
        self.num_tasks, self.device = num_tasks, device
        self.reset()

    def reset(self) -> None:
        zeros = torch.zeros
        self.loss = zeros((), device=self.device)
        self.correct = zeros((), device=self.device)
        self.sums = zeros(self.num_tasks, device=self.device)
        self.counts = zeros(self.num_tasks, device=self.device)
        self.num_steps, self.tokens, self.data_seconds = 0, 0, 0.0
        self.digests: list[str] = []  # batch_digest of this process's batches
        self.example_sums: list[int] = []  # their example_digest (summed over processes at the log step)
        self.shares = TaskShares(self.num_tasks)  # host-side examples and tokens per task
        self.started = time.perf_counter()

    def add(self, outputs: tuple[torch.Tensor, ...]) -> None:
        loss, sums, counts, correct = outputs
        self.loss += loss.float()
        self.sums += sums
        self.counts += counts
        self.correct += correct
        self.num_steps += 1

    def reduce(self, backend: Backend) -> tuple[float, float, list[float], list[float]]:
        """Loss sum, correct tokens, per-task loss sums and token counts over all processes, on the host."""
        vector = torch.cat([self.loss.reshape(1), self.correct.reshape(1), self.sums, self.counts])
        totals = backend.to_host(backend.all_reduce_sum(vector))
        n = self.num_tasks
        return float(totals[0]), float(totals[1]), totals[2:2 + n].tolist(), totals[2 + n:].tolist()


__all__ = ["LogWindow"]
