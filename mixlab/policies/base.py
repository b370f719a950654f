"""The policy interface: per-task training signals in, new mixture weights out, state for resume.

A policy is deterministic (no random draws) and small: its state is a few numbers per task,
saved in the run's checkpoints (``trainer.pt``) and restored on resume, so a resumed run makes
the same decisions at the same steps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from mixlab.errors import ResumeError
from mixlab.resumable import check_state, header

STATE_VERSION = 1


@dataclass(frozen=True, kw_only=True)
class StepStats:
    """What the training loop observed since the policy's last update (all processes together).

    ``loss_sums[i]`` / ``token_counts[i]``: summed token cross-entropy and target tokens of task i;
    ``excess_sums[i]``: summed ``max(loss_proxy - loss_reference, 0)`` over task i's tokens (only when
    the policy asks for a reference model); ``num_steps``: the steps these sums cover.
    """

    step: int
    loss_sums: np.ndarray
    token_counts: np.ndarray
    excess_sums: np.ndarray | None = None
    num_steps: int = 1

    def mean_loss(self) -> np.ndarray:
        """Per-task mean token loss (0 for a task without tokens)."""
        return np.divide(self.loss_sums, self.token_counts, out=np.zeros(len(self.loss_sums)),
                         where=self.token_counts > 0)


class Policy:
    """Base class: ``observe(stats)`` returns new leaf probabilities (task -> p) or ``None`` to keep them.

    ``needs_losses``: whether the loop must bring per-task losses to the host (a device sync at every
    update); ``needs_reference``: whether it must score a reference model on each batch.
    """

    kind: ClassVar[str] = "policy"
    needs_losses: ClassVar[bool] = True
    needs_reference: ClassVar[bool] = False

    def __init__(self, task_names: Sequence[str], initial: Mapping[str, float]) -> None:
        self.task_names = list(task_names)
        missing = sorted(set(self.task_names) - set(initial))
        if missing:
            raise ValueError(f"{self.kind} policy: the initial weights miss tasks {missing[:5]}")
        weights = np.array([float(initial[n]) for n in self.task_names], dtype=np.float64)
        self.weights = weights / weights.sum()
        self.signal: np.ndarray | None = None  # the last per-task signal (for the log)

    def observe(self, stats: StepStats) -> dict[str, float] | None:
        raise NotImplementedError

    def as_dict(self, values: np.ndarray) -> dict[str, float]:
        return dict(zip(self.task_names, (float(v) for v in values), strict=True))

    def summary(self) -> dict[str, Any]:
        """What the log records about the policy at a log step (besides the weights)."""
        return {} if self.signal is None else {"signal": self.as_dict(self.signal)}

    # -- state -------------------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {}

    def _load(self, state: Mapping[str, Any]) -> None:
        return None

    def state_dict(self) -> dict[str, Any]:
        return {**header(f"mixlab.policy.{self.kind}", STATE_VERSION), "task_names": list(self.task_names),
                "weights": self.weights.tolist(),
                "signal": None if self.signal is None else self.signal.tolist(), **self._state()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        state = check_state(state, f"mixlab.policy.{self.kind}", STATE_VERSION)
        if list(state["task_names"]) != self.task_names:
            raise ResumeError(f"{self.kind} policy state is for tasks {list(state['task_names'])[:5]}..., this run "
                              f"has {self.task_names[:5]}...; fix: resume with the saved run's mixture")
        self.weights = np.array(state["weights"], dtype=np.float64)
        self.signal = None if state.get("signal") is None else np.array(state["signal"], dtype=np.float64)
        self._load(state)


def softmax(logits: np.ndarray) -> np.ndarray:
    """``exp(x) / sum(exp(x))``, shifted by the max (entries of -inf give 0)."""
    shifted = np.exp(logits - np.max(logits))
    return shifted / shifted.sum()


__all__ = ["STATE_VERSION", "Policy", "StepStats", "softmax"]
