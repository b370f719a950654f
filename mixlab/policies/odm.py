"""Online data mixing (Albalak et al. 2023): an EXP3 bandit over tasks, rewarded by the training loss.

Update ``t`` (``t = 1, 2, ...``; ``K`` tasks), after the steps trained with weights ``π_t``:

```
r_i   = reward_scale · (mean token loss of task i in those steps)     for every task i drawn in them
R̂_i  += r_i / π_t,i                                                   (importance-weighted cumulative reward)
ε_t   = min(1/K, sqrt(ln K / (K·t)))                                  (ε_0 = 1/K)
π_t+1 = (1 - K·ε_t+1)·softmax(ε_t·R̂) + ε_t+1
```

The first weights, ``π_1``, follow from ``R̂ = 0``: uniform. The published algorithm draws one
task per step; a mixlab batch holds many tasks, so every task with tokens in the observed steps
is a drawn arm with its own reward. No random draws happen here (the stream draws), so the
policy is deterministic and resumes exactly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from mixlab.policies.base import Policy, StepStats, softmax


def exploration(t: int, num_tasks: int) -> float:
    """``ε_t = min(1/K, sqrt(ln K / (K t)))`` (``ε_0 = 1/K``)."""
    if t == 0:
        return 1.0 / num_tasks
    return min(1.0 / num_tasks, math.sqrt(math.log(num_tasks) / (num_tasks * t)))


class ODM(Policy):
    """EXP3 over the tasks; see the module docstring."""

    kind: ClassVar[str] = "odm"

    def __init__(self, task_names: Sequence[str], initial: Mapping[str, float], *, reward_scale: float = 1.0) -> None:
        super().__init__(task_names, initial)
        if not reward_scale > 0:
            raise ValueError(f"ODM needs reward_scale > 0, got {reward_scale}")
        self.reward_scale = float(reward_scale)
        self.cumulative = np.zeros(len(self.task_names))  # R̂
        self.t = 1  # the weights in force are π_t
        self.weights = self._policy()

    def _policy(self) -> np.ndarray:
        k = len(self.task_names)
        eps_t, eps_prev = exploration(self.t, k), exploration(self.t - 1, k)
        return (1 - k * eps_t) * softmax(eps_prev * self.cumulative) + eps_t

    def update(self, rewards: np.ndarray, drawn: np.ndarray) -> np.ndarray:
        """Add ``rewards[i] / π_t,i`` for the ``drawn`` tasks, move to ``t + 1``; returns ``π_t+1``."""
        self.cumulative = self.cumulative + np.where(drawn, rewards / self.weights, 0.0)
        self.t += 1
        self.weights = self._policy()
        self.signal = np.where(drawn, rewards, 0.0)
        return self.weights

    def observe(self, stats: StepStats) -> dict[str, float]:
        rewards = self.reward_scale * stats.mean_loss()
        return self.as_dict(self.update(rewards, stats.token_counts > 0))

    def _state(self) -> dict[str, Any]:
        return {"reward_scale": self.reward_scale, "cumulative": self.cumulative.tolist(), "t": self.t}

    def _load(self, state: Mapping[str, Any]) -> None:
        self.cumulative = np.array(state["cumulative"], dtype=np.float64)
        self.t = int(state["t"])


__all__ = ["ODM", "exploration"]
