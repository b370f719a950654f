"""The T5 / ExT5 learning-rate schedule: constant, then inverse square root.

``lr(step) = base_lr * sqrt(warmup_steps) / sqrt(max(step, warmup_steps))`` for the 0-based step
about to be taken. ExT5: base_lr 0.01, warmup 10k, i.e. ``1 / sqrt(max(step, 10k))``.

>>> s = RsqrtSchedule(base_lr=0.01, warmup_steps=10_000)
>>> s(0), s(10_000), s(40_000)
(0.01, 0.01, 0.005)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True, kw_only=True)
class RsqrtSchedule:
    base_lr: float
    warmup_steps: int

    def __post_init__(self) -> None:
        if self.base_lr <= 0 or self.warmup_steps < 1:
            raise ValueError(f"RsqrtSchedule needs base_lr > 0 and warmup_steps >= 1; "
                             f"got base_lr={self.base_lr}, warmup_steps={self.warmup_steps}")

    def __call__(self, step: int) -> float:
        return self.base_lr * math.sqrt(self.warmup_steps) / math.sqrt(max(step, self.warmup_steps))

    def tensor(self, step: torch.Tensor) -> torch.Tensor:
        """The same value from a step tensor, with tensor ops only (no host sync)."""
        clamped = torch.clamp(step.float(), min=float(self.warmup_steps))
        return self.base_lr * math.sqrt(self.warmup_steps) * torch.rsqrt(clamped)


@dataclass(frozen=True, kw_only=True)
class ConstantSchedule:
    """``lr(step) = base_lr`` at every step (ExT5 fine-tuning: a constant learning rate).

    >>> ConstantSchedule(base_lr=0.001)(5_000)
    0.001
    """

    base_lr: float

    def __post_init__(self) -> None:
        if self.base_lr <= 0:
            raise ValueError(f"ConstantSchedule needs base_lr > 0; got base_lr={self.base_lr}")

    def __call__(self, step: int) -> float:
        return self.base_lr

    def tensor(self, step: torch.Tensor) -> torch.Tensor:
        return torch.full_like(step, self.base_lr, dtype=torch.float32)


def make_schedule(name: str, *, base_lr: float, warmup_steps: int) -> RsqrtSchedule | ConstantSchedule:
    """The schedule a config's ``lr_schedule`` names: ``"rsqrt"`` or ``"constant"`` (which ignores warmup)."""
    if name == "rsqrt":
        return RsqrtSchedule(base_lr=base_lr, warmup_steps=warmup_steps)
    if name == "constant":
        return ConstantSchedule(base_lr=base_lr)
    raise ValueError(f"unknown learning-rate schedule {name!r}; choose 'rsqrt' or 'constant'")
