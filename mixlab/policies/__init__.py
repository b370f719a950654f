"""Policies: mixture weights that move during training.

```
training step ──per-task losses (+ a reference model's, DoReMi)──▶ Policy.observe(StepStats)
     ▲                                                                   │ new weights (or None)
     │                                                                   ▼
batches ◀── stream.set_probabilities(weights, at the first unread position) ◀── the trainer
```

* :class:`FixedSchedule`: a scheduled mixture's weights at each step (no signal);
* :class:`DoReMi`: exponentiated gradient on the excess loss over a reference model, time-averaged;
* :class:`ODM`: an EXP3 bandit rewarded by each task's training loss.

Each is deterministic and saves its state with the run's checkpoints; ``PolicySpec`` is a training
config's ``policy:`` section (:func:`make_policy` builds it). The trainer side, where a decision
after step ``s`` takes effect in the data at a position every process agrees on, is
:mod:`mixlab.train.mixing`; the recipes are in docs/training.md.
"""

from __future__ import annotations

from mixlab.policies.base import Policy, StepStats
from mixlab.policies.doremi import DoReMi
from mixlab.policies.fixed import FixedSchedule
from mixlab.policies.odm import ODM
from mixlab.policies.spec import PolicySpec, make_policy

__all__ = ["ODM", "DoReMi", "FixedSchedule", "Policy", "PolicySpec", "StepStats", "make_policy"]
