"""``PolicySpec``: a training config's ``policy:`` section, and :func:`make_policy`.

```yaml
policy: {kind: doremi, reference: runs/ref, eta: 1.0, smoothing: 1e-3, every: 1, apply: loss}
policy: {kind: odm, reward_scale: 1.0, every: 1}
policy: {kind: schedule}          # the mixture's own schedule (also the default for a scheduled mixture)
```
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mixlab.policies.base import Policy
from mixlab.policies.doremi import DoReMi
from mixlab.policies.fixed import FixedSchedule
from mixlab.policies.odm import ODM

KINDS = ("doremi", "odm", "schedule")
_ONLY = {"reference": "doremi", "eta": "doremi", "smoothing": "doremi", "apply": "doremi", "reward_scale": "odm"}


class PolicySpec(BaseModel):
    """How the mixture weights move during training (see :mod:`mixlab.policies`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["doremi", "odm", "schedule"]
    every: int = Field(default=1, gt=0, description="steps between two updates (the observations are summed)")
    reference: str | None = Field(default=None, description="doremi: a finished mixlab run (or one of its "
                                                            "checkpoints) whose model scores every batch")
    eta: float | None = Field(default=None, gt=0, description="doremi: step size (default 1.0)")
    smoothing: float | None = Field(default=None, ge=0, le=1, description="doremi: uniform smoothing (default 1e-3)")
    apply: Literal["loss", "data"] | None = Field(
        default=None, description="doremi: 'loss' (default, the paper's): the data keeps the mixture's weights and "
                                  "each task's loss is weighted by alpha / p; 'data': the stream draws with alpha")
    reward_scale: float | None = Field(default=None, gt=0, description="odm: reward = scale x mean task loss "
                                                                       "(default 1.0)")

    @model_validator(mode="after")
    def _check(self) -> PolicySpec:
        for field, kind in _ONLY.items():
            if getattr(self, field) is not None and self.kind != kind:
                raise ValueError(f"{field} is a setting of kind {kind!r} and does nothing with kind {self.kind!r}; "
                                 f"fix: remove {field}")
        if self.kind == "doremi" and self.reference is None:
            raise ValueError("doremi needs reference: a finished mixlab run trained on the same mixture (step 1 "
                             "of the recipe in docs/training.md); fix: set reference: runs/<reference run>")
        if self.kind == "schedule" and self.every != 1:
            raise ValueError("every does nothing with kind 'schedule' (the schedule's stages say when weights "
                             "change); fix: remove every")
        return self


def make_policy(spec: PolicySpec | Mapping[str, Any], task_names: Sequence[str], initial: Mapping[str, float],
                schedule: Any = None) -> Policy:
    """The policy ``spec`` describes over ``task_names``, starting at ``initial`` (the mixture's weights).

    ``schedule`` (a ``MixtureSchedule``) is what kind ``schedule`` follows."""
    spec = spec if isinstance(spec, PolicySpec) else PolicySpec(**spec)
    if spec.kind == "doremi":
        return DoReMi(task_names, initial, eta=1.0 if spec.eta is None else spec.eta,
                      smoothing=1e-3 if spec.smoothing is None else spec.smoothing)
    if spec.kind == "odm":
        return ODM(task_names, initial, reward_scale=1.0 if spec.reward_scale is None else spec.reward_scale)
    if schedule is None:
        raise ValueError("policy kind 'schedule' follows the mixture's schedule, but the mixture has none; fix: "
                         "give the mixture a schedule: section (docs/mixtures.md, Schedules) or use another kind")
    return FixedSchedule(task_names, schedule)


__all__ = ["KINDS", "PolicySpec", "make_policy"]
