"""Token-level cross-entropy with optional z-loss, per-task sums and Muppet scaling.

The training loss is ``sum_t w_task(t) * (ce_t + z * logsumexp_t**2) / num_tokens`` over target
tokens with ``labels != -100``; ``w_task = 1 / log(n_task)`` under Muppet scaling (n = the task's
output-space size), else 1. Per-task sums of the unscaled cross-entropy and token counts come back
as tensors (``scatter_add`` over ``decoder_task_ids``), left on the device until logged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import torch

IGNORE_INDEX = -100


class LossOutput(NamedTuple):
    loss: torch.Tensor  #: scalar to back-propagate
    task_loss_sums: torch.Tensor  #: [num_tasks] summed cross-entropy (fp32)
    task_token_counts: torch.Tensor  #: [num_tasks] target tokens (fp32)
    token_correct: torch.Tensor  #: scalar, argmax == label count over real tokens (fp32)


def token_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token cross-entropy in fp32 ([B, Lt], 0 on ignored tokens) and the mask of real tokens."""
    vocab = logits.shape[-1]
    ce = torch.nn.functional.cross_entropy(logits.float().reshape(-1, vocab), labels.long().reshape(-1),
                                           ignore_index=IGNORE_INDEX, reduction="none")
    return ce.reshape(labels.shape), labels != IGNORE_INDEX


def muppet_weights(task_names: Sequence[str], output_sizes: Mapping[str, int]) -> list[float]:
    """``1 / log(n)`` per task (Muppet); tasks without a size get weight 1."""
    return [1.0 / math.log(output_sizes[name]) if name in output_sizes else 1.0 for name in task_names]


def compute_loss(logits: torch.Tensor, labels: torch.Tensor, task_ids: torch.Tensor, num_tasks: int, *,
                 z_loss: float = 0.0, task_weights: torch.Tensor | None = None) -> LossOutput:
    """The training loss and per-task statistics for one batch (no host syncs)."""
    logits = logits.float()  # one fp32 copy of the logits for the cross-entropy and the z-loss
    ce, valid = token_cross_entropy(logits, labels)
    weight = valid.float()
    safe_ids = torch.where(task_ids >= 0, task_ids, torch.zeros_like(task_ids)).long().reshape(-1)
    sums = torch.zeros(num_tasks, dtype=torch.float32, device=ce.device).scatter_add(0, safe_ids, ce.reshape(-1))
    counts = torch.zeros(num_tasks, dtype=torch.float32, device=ce.device).scatter_add(0, safe_ids, weight.reshape(-1))
    per_token = ce
    if z_loss:
        lse = torch.logsumexp(logits, dim=-1) * weight
        per_token = ce + z_loss * lse.square()
    if task_weights is not None:
        per_token = per_token * task_weights.to(per_token.device)[safe_ids].reshape(per_token.shape)
    num_tokens = torch.clamp(weight.sum(), min=1.0)
    with torch.no_grad():
        correct = ((logits.argmax(-1) == labels) & valid).float().sum()
    return LossOutput(per_token.sum() / num_tokens, sums, counts, correct)
