"""A fixed schedule as a policy: the weights of a scheduled mixture at each step (no training signal)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from mixlab.policies.base import Policy, StepStats


class FixedSchedule(Policy):
    """Weights that depend on the step only: ``schedule.probabilities_at(step)`` (a ``MixtureSchedule``)."""

    kind: ClassVar[str] = "schedule"
    needs_losses: ClassVar[bool] = False

    def __init__(self, task_names: Sequence[str], schedule: object) -> None:
        self.schedule = schedule
        super().__init__(task_names, schedule.probabilities_at(0))  # type: ignore[attr-defined]

    def observe(self, stats: StepStats) -> dict[str, float] | None:
        """The new weights when they differ from the ones in force, else ``None``."""
        now = self.schedule.probabilities_at(stats.step)  # type: ignore[attr-defined]
        weights = np.array([now[n] for n in self.task_names], dtype=np.float64)
        if np.array_equal(weights, self.weights):
            return None
        self.weights = weights
        return self.as_dict(weights)


__all__ = ["FixedSchedule"]
