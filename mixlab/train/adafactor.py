"""Adafactor (Shazeer & Stern, 2018) with T5's defaults, written with tensor ops only.

No ``.item()``, no Python ``max``/``min`` on tensors and the step counter kept as a tensor, so a
step never waits on the device and the whole update can be traced by
``torch_xla.compile(full_graph=True)``. The learning rate may be a float or a 0-dim tensor (the
training loop passes a tensor it updates in place, so a changing schedule never retraces).

Per parameter ``p`` with gradient ``g`` at step ``t`` (1-based):

- ``beta2_t = 1 - t ** -decay_rate`` (decay_rate 0.8)
- ``v = beta2_t * v + (1 - beta2_t) * (g**2 + eps1)``; factored into row and column means when both
  of the last two dimensions are at least ``factored_min_dim`` (128), else kept whole
- ``u = g / sqrt(v_hat)``; ``u /= max(1, RMS(u) / clip_threshold)``
- ``p -= lr * max(eps2, RMS(p)) * u`` when ``scale_parameter`` (RMS of ``p`` before the update)

On CPU and CUDA, fp32 parameters of one shape (a T5 has a handful of shapes) are updated together:
their gradients and states are stacked, so one step launches a few kernels per shape instead of
about twenty per parameter (the step of a T5.1.1-base on an H100 was bound by launching them).
FSDP2 (DTensor) parameters are updated on their gathered full tensors and the optimizer state is
kept whole on every rank (simple and exact; it does not shard the optimizer's memory).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch


def _is_dtensor(tensor: torch.Tensor) -> bool:
    return type(tensor).__name__ == "DTensor" or type(tensor.data).__name__ == "DTensor"


_STACKED = ("cpu", "cuda")  # devices where same-shape parameters are updated together (XLA traces one graph anyway)
_STACK_ELEMENTS = 1 << 26  # elements per stack at most: bounds the temporary memory of one update


class Adafactor(torch.optim.Optimizer):
    """Tensor-only Adafactor without momentum.

    >>> import torch
    >>> p = torch.nn.Parameter(torch.ones(3))
    >>> opt = Adafactor([p], lr=0.01)
    >>> p.grad = torch.ones(3); opt.step()
    >>> round(float(p[0]), 6)
    0.99
    """

    def __init__(
        self,
        params: Iterable,
        lr: float | torch.Tensor = 0.01,
        *,
        eps: tuple[float, float] = (1e-30, 1e-3),
        clip_threshold: float = 1.0,
        decay_rate: float = 0.8,
        scale_parameter: bool = True,
        factored_min_dim: int = 128,
        weight_decay: float = 0.0,
    ) -> None:
        if decay_rate <= 0:
            raise ValueError(f"Adafactor decay_rate must be > 0 (beta2_t = 1 - t**-decay_rate); got {decay_rate}")
        if clip_threshold <= 0:
            raise ValueError(f"Adafactor clip_threshold must be > 0; got {clip_threshold}")
        if factored_min_dim < 1:
            raise ValueError(f"Adafactor factored_min_dim must be >= 1; got {factored_min_dim}")
        defaults = dict(lr=lr, eps=eps, clip_threshold=clip_threshold, decay_rate=decay_rate,
                        scale_parameter=scale_parameter, factored_min_dim=factored_min_dim,
                        weight_decay=weight_decay)
        super().__init__(params, defaults)

    @staticmethod
    def is_factored(shape: torch.Size, min_dim: int) -> bool:
        """T5's rule: factor the second moment when both trailing dimensions are >= ``min_dim``."""
        return len(shape) >= 2 and shape[-1] >= min_dim and shape[-2] >= min_dim

    def _init_state(self, p: torch.Tensor, factored: bool) -> dict:
        state = self.state[p]
        state["step"] = torch.zeros((), dtype=torch.float32, device=p.device)
        if factored:
            state["exp_avg_sq_row"] = torch.zeros(p.shape[:-1], dtype=torch.float32, device=p.device)
            state["exp_avg_sq_col"] = torch.zeros(p.shape[:-2] + p.shape[-1:], dtype=torch.float32, device=p.device)
        else:
            state["exp_avg_sq"] = torch.zeros(p.shape, dtype=torch.float32, device=p.device)
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        """As torch's, but keeps the live (tensor) learning rates and puts each ``step`` on its parameter's
        device: torch replaces ``lr`` with the saved value (freezing the loop's schedule) and keeps
        ``step`` on the CPU."""
        lrs = [group["lr"] for group in self.param_groups]
        super().load_state_dict(state_dict)
        for group, lr in zip(self.param_groups, lrs, strict=True):
            if isinstance(lr, torch.Tensor):
                group["lr"] = lr
        for param, state in self.state.items():
            step = state.get("step")
            if isinstance(step, torch.Tensor) and step.device != param.device:
                state["step"] = step.to(param.device)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            buckets: dict[tuple, list[torch.Tensor]] = {}
            for p in group["params"]:
                if p.grad is None:
                    continue
                if _is_dtensor(p) or p.dtype != torch.float32 or p.device.type not in _STACKED:
                    self._update_one(p, group)
                else:
                    buckets.setdefault((p.shape, p.device), []).append(p)
            for same in buckets.values():
                per_stack = max(1, _STACK_ELEMENTS // same[0].numel())
                for at in range(0, len(same), per_stack):
                    params = same[at:at + per_stack]
                    grads = [p.grad for p in params if p.grad is not None]  # all set: checked above
                    update = self._updates(group, torch.stack(grads).float(), params)
                    torch._foreach_sub_(params, update.unbind(0))
        return loss

    def _update_one(self, p: Any, group: dict) -> None:
        """One parameter on its own: FSDP2 (DTensor) shards, low-precision parameters, XLA tensors.

        ``p`` is typed ``Any``: a DTensor's ``full_tensor``/``device_mesh``/``placements`` are not on ``Tensor``."""
        sharded = _is_dtensor(p)  # FSDP2: update the full tensor, keep this rank's shard (see module doc)
        param = p.full_tensor() if sharded else p
        grad = (p.grad.full_tensor() if sharded else p.grad).float()
        in_place = not sharded and p.dtype == torch.float32
        master = p if in_place else param.float()
        master.sub_(self._updates(group, grad.unsqueeze(0), [master], states=[self._state(p, group)])[0])
        if sharded:
            from torch.distributed.tensor import distribute_tensor

            master = distribute_tensor(master.to(p.dtype), p.device_mesh, p.placements, src_data_rank=None)
        if not in_place:
            p.copy_(master)

    def _state(self, p: torch.Tensor, group: dict) -> dict:
        state = self.state.get(p)  # ``self.state`` is a defaultdict: ``get`` adds nothing
        if state:
            return state
        return self._init_state(p, self.is_factored(p.shape, group["factored_min_dim"]))

    def _updates(self, group: dict, grads: torch.Tensor, params: list[torch.Tensor],
                 states: list[dict] | None = None) -> torch.Tensor:
        """What to subtract from ``k`` parameters of one shape, stacked along a new first dimension
        (``grads`` is ``(k, *shape)`` fp32; ``params`` their fp32 values): the formulas of the module
        docstring, each over ``k`` parameters at once. Advances their states (default: ``params``')."""
        eps1, eps2 = group["eps"]
        states = states if states is not None else [self._state(p, group) for p in params]
        k, shape = grads.shape[0], grads.shape[1:]
        per_param = (k,) + (1,) * len(shape)  # broadcasts a (k,) tensor over each parameter
        steps = [state["step"] for state in states]
        torch._foreach_add_(steps, 1.0)
        beta2 = 1.0 - torch.stack(steps).pow(-group["decay_rate"])
        squared = grads.square().add_(eps1)
        if self.is_factored(shape, group["factored_min_dim"]):
            rows, cols = [s["exp_avg_sq_row"] for s in states], [s["exp_avg_sq_col"] for s in states]
            row, col, keep = torch.stack(rows), torch.stack(cols), beta2.view(per_param[:-1])
            row.mul_(keep).add_(squared.mean(dim=-1).mul_(1.0 - keep))
            col.mul_(keep).add_(squared.mean(dim=-2).mul_(1.0 - keep))
            torch._foreach_copy_(rows, row.unbind(0))
            torch._foreach_copy_(cols, col.unbind(0))
            row_factor = (row / row.mean(dim=-1, keepdim=True)).rsqrt_().unsqueeze(-1)
            update = torch.mul(row_factor, col.unsqueeze(-2).rsqrt()).mul_(grads)
        else:
            seconds = [s["exp_avg_sq"] for s in states]
            second, keep = torch.stack(seconds), beta2.view(per_param)
            second.mul_(keep).add_(squared.mul_(1.0 - keep))
            torch._foreach_copy_(seconds, second.unbind(0))
            update = second.rsqrt().mul_(grads)
        root = shape.numel() ** 0.5
        rms = torch.linalg.vector_norm(update.reshape(k, -1), dim=1) / root
        update.div_(torch.clamp(rms / group["clip_threshold"], min=1.0).view(per_param))
        lr = group["lr"]  # a float or a 0-dim tensor
        if group["scale_parameter"]:  # RMS of each parameter before its update
            lr = (torch.clamp(torch.stack(torch._foreach_norm(params)) / root, min=eps2) * lr).view(per_param)
        update.mul_(lr)
        if group["weight_decay"]:
            update.add_(torch.stack(params) * (group["weight_decay"] * lr))
        return update
