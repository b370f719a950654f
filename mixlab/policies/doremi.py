"""DoReMi (Xie et al. 2023): group DRO on the excess loss over a reference model.

Per update, with ``λ_i = mean over task i's tokens of max(loss_proxy - loss_reference, 0)``
(0 for a task without tokens in the steps observed):

```
alpha'    = softmax(log alpha + η·λ)      (exponentiated gradient step on the weights in force)
alpha     = (1 - ε)·alpha' + ε·u          (smoothing with the uniform u = 1/k)
alpha_bar = mean of every alpha so far    (the output mixture: DoReMi's time average)
```

Defaults ``η = 1`` and ``ε = 1e-3`` (the paper's). The weights start at the mixture's (the paper
starts the proxy at the reference mixture, uniform in its experiments). As published (config ``apply:
loss``, the default), the data keeps the mixture's weights p and each task's token losses are weighted by
alpha / p; ``apply: data`` draws the data with alpha instead (see :mod:`mixlab.train.mixing`). The averaged
alpha_bar is what goes into the main run (:meth:`DoReMi.average`, written as a mixture spec by the trainer).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from mixlab.policies.base import Policy, StepStats, softmax


class DoReMi(Policy):
    """Exponentiated-gradient weights on the per-task excess loss; see the module docstring."""

    kind: ClassVar[str] = "doremi"
    needs_reference: ClassVar[bool] = True

    def __init__(self, task_names: Sequence[str], initial: Mapping[str, float], *, eta: float = 1.0,
                 smoothing: float = 1e-3) -> None:
        super().__init__(task_names, initial)
        if not eta > 0 or not 0 <= smoothing <= 1:
            raise ValueError(f"DoReMi needs eta > 0 and 0 <= smoothing <= 1, got eta={eta}, smoothing={smoothing}")
        self.eta, self.smoothing = float(eta), float(smoothing)
        self.weight_sum = np.zeros(len(self.task_names))
        self.num_updates = 0

    def update(self, excess: np.ndarray) -> np.ndarray:
        """One DoReMi step from the per-task excess losses ``excess`` (λ); returns the new alpha."""
        with np.errstate(divide="ignore"):  # a weight of 0 has log -inf and stays 0 before smoothing
            logits = np.log(self.weights) + self.eta * excess
        uniform = np.full(len(self.weights), 1.0 / len(self.weights))
        self.weights = (1 - self.smoothing) * softmax(logits) + self.smoothing * uniform
        self.weight_sum += self.weights
        self.num_updates += 1
        self.signal = excess
        return self.weights

    def observe(self, stats: StepStats) -> dict[str, float]:
        assert stats.excess_sums is not None, "DoReMi needs the excess losses of a reference model"
        excess = np.divide(stats.excess_sums, stats.token_counts, out=np.zeros(len(self.weights)),
                           where=stats.token_counts > 0)
        return self.as_dict(self.update(excess))

    def average(self) -> dict[str, float]:
        """alpha_bar: the mean of the weights after every update (the weights in force if there was none)."""
        mean = self.weight_sum / self.num_updates if self.num_updates else self.weights
        return self.as_dict(mean / mean.sum())

    def summary(self) -> dict[str, Any]:
        return {**super().summary(), "average": self.average(), "num_updates": self.num_updates}

    def _state(self) -> dict[str, Any]:
        return {"eta": self.eta, "smoothing": self.smoothing, "weight_sum": self.weight_sum.tolist(),
                "num_updates": self.num_updates}

    def _load(self, state: Mapping[str, Any]) -> None:
        self.weight_sum = np.array(state["weight_sum"], dtype=np.float64)
        self.num_updates = int(state["num_updates"])


__all__ = ["DoReMi"]
