"""Mixtures whose weights follow a schedule over training steps (the ``schedule`` shape of a spec).

```yaml
name: wordnet-warmup
schedule:
  - {step: 0, mixture: {name: uniform, tasks: {collection: wordnet, tag: supervised}, strategy: {kind: uniform}}}
  - {step: 200, mixture: wordnet, ramp: linear, every: 20}   # uniform -> proportional over steps 0..200
  - {step: 500, mixture: wordnet-ext5}                        # a jump at step 500
```

Each stage names a mixture (a name, a spec file or an inline spec) and the step from which its
weights hold. ``ramp: step`` (default) switches to them at that step; ``ramp: linear`` moves from
the previous stage's weights to them in a straight line over the steps between the two stages,
updated every ``every`` steps (default: a twentieth of the ramp). Weights are leaf
probabilities over the union of every stage's leaves (0 where a stage lacks a task), so a linear
ramp between two rmix stages moves each leaf's share linearly (not ``R`` itself).

:func:`scheduled_mixture` builds the :class:`~mixlab.samplers.Mixture`: its leaves are every
stage's leaves, its ``probabilities`` the mean of the stages (every leaf is drawn in some stage),
and its ``description`` records each stage with its resolved probabilities, so the schedule
travels with the mixture (and its manifest). A stream of it starts with the first stage's
weights; the trainer applies the rest at step boundaries (``MixtureSchedule.probabilities_at``:
the weights for the steps after ``step`` steps are done).

>>> from mixlab import CallableSource, Mixture, Task
>>> def make(name):
...     return Task(name=name, family="demo", collection="demo", num_examples={"train": 10},
...                 source=CallableSource(fn=lambda split: []), formatter=lambda row: row)
>>> a, b = make("demo/a"), make("demo/b")
>>> mix = scheduled_mixture("ramp", [(0, "step", None, Mixture.of([(a, 1.0)], name="only-a")),
...                                  (100, "linear", 25, Mixture.of([(a, 1.0), (b, 3.0)], name="a-b"))])
>>> schedule = MixtureSchedule.from_mixture(mix)
>>> [schedule.probabilities_at(s)["demo/b"] for s in (0, 24, 25, 50, 99, 100, 1000)]
[0.0, 0.0, 0.1875, 0.375, 0.5625, 0.75, 0.75]
>>> schedule.change_steps(200)
[25, 50, 75, 100]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mixlab.errors import MixtureSpecError
from mixlab.samplers.mixture import Mixture

_DEFAULT_UPDATES = 20  # a linear ramp without ``every`` is updated this many times


@dataclass(frozen=True, kw_only=True)
class Stage:
    """From ``step`` on, ``probabilities`` (reached by a linear ramp from the previous stage when ``ramp``
    is ``"linear"``, updated every ``every`` steps)."""

    step: int
    probabilities: dict[str, float]
    ramp: str = "step"
    every: int = 1
    mixture: dict[str, Any] | None = None  # the stage mixture's description (for the record)


class MixtureSchedule:
    """Leaf probabilities as a function of the optimizer step, from a mixture's ``schedule`` stages."""

    def __init__(self, names: Sequence[str], stages: Sequence[Stage]) -> None:
        self.names = sorted(names)
        if not stages or stages[0].step != 0:
            raise MixtureSpecError("a mixture schedule starts with a stage at step 0; fix: add {step: 0, ...}")
        steps = [s.step for s in stages]
        if steps != sorted(set(steps)):
            raise MixtureSpecError(f"mixture schedule stages must have increasing steps, got {steps}")
        if stages[0].ramp != "step":
            raise MixtureSpecError("the first stage of a mixture schedule cannot ramp (nothing comes before it); "
                                   "fix: set its ramp to 'step'")
        self.stages = list(stages)

    @classmethod
    def from_mixture(cls, mixture: Any) -> MixtureSchedule | None:
        """The schedule recorded in ``mixture.description`` (``None`` for a mixture without one)."""
        description = getattr(mixture, "description", None) or {}
        stages = description.get("schedule")
        if not stages:
            return None
        names = list(mixture.probabilities)
        return cls(names, [Stage(step=int(s["step"]), probabilities={n: float(s["probabilities"].get(n, 0.0))
                                                                         for n in names},
                                 ramp=s.get("ramp", "step"), every=int(s.get("every") or 1),
                                 mixture=s.get("mixture")) for s in stages])

    def probabilities_at(self, step: int) -> dict[str, float]:
        """The weights of the steps after ``step`` optimizer steps (sorted by task; they sum to 1)."""
        k = max(i for i, s in enumerate(self.stages) if s.step <= step)
        here = self.stages[k]
        after = self.stages[k + 1] if k + 1 < len(self.stages) else None
        if after is None or after.ramp != "linear":
            return dict(here.probabilities)
        updated = here.step + (step - here.step) // after.every * after.every  # the last update at or before step
        fraction = (updated - here.step) / (after.step - here.step)
        mixed = {n: (1 - fraction) * here.probabilities[n] + fraction * after.probabilities[n] for n in self.names}
        total = math.fsum(mixed.values())
        return {n: p / total for n, p in mixed.items()}

    def change_steps(self, last: int) -> list[int]:
        """The steps ``s <= last`` after which the weights differ from those after ``s - 1``."""
        out = []
        for k, stage in enumerate(self.stages[1:], start=1):
            if stage.ramp == "linear":
                start = self.stages[k - 1].step
                out += list(range(start + stage.every, stage.step, stage.every))
            out.append(stage.step)
        return [s for s in out if s <= last and self.probabilities_at(s) != self.probabilities_at(s - 1)]

    def to_dict(self) -> list[dict[str, Any]]:
        """The stages as plain data (what a scheduled mixture's description holds under ``schedule``)."""
        return [{"step": s.step, "ramp": s.ramp, "every": s.every, "probabilities": dict(s.probabilities),
                 **({"mixture": s.mixture} if s.mixture is not None else {})} for s in self.stages]


def scheduled_mixture(name: str, stages: Sequence[tuple[int, str, int | None, Mixture]]) -> Mixture:
    """A mixture over every stage's leaves whose description records the schedule.

    ``stages`` are ``(step, ramp, every or None, stage mixture)``, the first at step 0.
    """
    if not stages:
        raise MixtureSpecError(f"mixture {name!r}: a schedule needs at least one stage")
    union = Mixture.of([(mixture, 1.0) for _, _, _, mixture in stages], name=name)
    names = list(union.probabilities)
    built = []
    for k, (step, ramp, every, mixture) in enumerate(stages):
        if ramp == "linear" and every is None:
            every = max(1, (step - stages[k - 1][0]) // _DEFAULT_UPDATES) if k else 1
        probabilities = mixture.probabilities
        built.append(Stage(step=step, ramp=ramp, every=every or 1, mixture=mixture.description,
                           probabilities={n: probabilities.get(n, 0.0) for n in names}))
    schedule = MixtureSchedule(names, built)  # checks the order of the stages
    return union._with(description={"name": name, "schedule": schedule.to_dict()})


def initial_probabilities(mixture: Any) -> Mapping[str, float]:
    """The weights a stream of ``mixture`` starts with: its first stage's when it has a schedule."""
    schedule = MixtureSchedule.from_mixture(mixture)
    return mixture.probabilities if schedule is None else schedule.probabilities_at(0)


__all__ = ["MixtureSchedule", "Stage", "initial_probabilities", "scheduled_mixture"]
