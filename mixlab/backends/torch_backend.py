"""``TorchBackend``: CPU or CUDA, one process or many under torchrun (DDP, or FSDP2 per T5 block).

Distributed init reads torchrun's environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR``/``MASTER_PORT``): NCCL on CUDA, gloo on CPU. Precision ``auto`` is bf16 autocast
on CUDA devices that support it and fp32 elsewhere; parameters stay fp32 (master weights).
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Mapping
from typing import Any, cast

import numpy as np
import torch

from mixlab.backends.base import Backend, iter_tensors
from mixlab.errors import ConfigError


class TorchBackend(Backend):
    name = "torch"

    def __init__(self, *, device: str | None = None, **options: Any) -> None:
        super().__init__(**options)
        self._device_name = None if device == "auto" else device

    # -- process group -------------------------------------------------------------------------
    def setup(self) -> TorchBackend:
        env = os.environ
        self.world_size = int(env.get("WORLD_SIZE", "1"))
        self.rank = int(env.get("RANK", "0"))
        self.local_rank = int(env.get("LOCAL_RANK", "0"))
        if (self._device_name or "").startswith("cuda") and not torch.cuda.is_available():
            raise ConfigError(f"backend device {self._device_name!r}, but torch sees no CUDA device (a CPU-only "
                              f"build of torch, no driver, or CUDA_VISIBLE_DEVICES hides them); fix: set the "
                              f"backend's device to 'auto' or 'cpu'")
        cuda = torch.cuda.is_available() and self._device_name in (None, "cuda")
        if self._device_name not in (None, "cuda", "cpu"):
            self._device = torch.device(self._device_name)
        elif cuda:
            count = torch.cuda.device_count()
            if self.local_rank >= count:
                raise ConfigError(f"process {self.rank} has LOCAL_RANK {self.local_rank}, but this host has {count} "
                                  f"CUDA device(s); fix: launch at most {count} processes per host (torchrun "
                                  f"--nproc_per_node {count}), or set the backend's device to 'cpu'")
            self._device = torch.device("cuda", self.local_rank)
            torch.cuda.set_device(self._device)
        else:
            self._device = torch.device("cpu")
        if self.world_size > 1 and not torch.distributed.is_initialized():
            backend = "nccl" if self._device.type == "cuda" else "gloo"
            torch.distributed.init_process_group(backend=backend, rank=self.rank, world_size=self.world_size)
            self._owns_group = True
        if self.precision == "auto":
            on_cuda = self._device.type == "cuda"
            self.precision = "bf16" if on_cuda and torch.cuda.is_bf16_supported() else "fp32"
        if self.parallel == "auto":
            self.parallel = "ddp" if self.world_size > 1 else "none"
        if self.parallel == "none" and self.world_size > 1:
            raise ConfigError(f"backend parallel 'none' with {self.world_size} processes would train "
                              f"{self.world_size} separate models; fix: use parallel 'ddp', 'fsdp' or 'auto'")
        if self.parallel in ("ddp", "fsdp") and self.world_size == 1:
            warnings.warn(f"backend parallel {self.parallel!r} with one process does nothing; launch with torchrun "
                          "--nproc_per_node N to use it", stacklevel=2)
            self.parallel = "none"
        return self

    # -- model and tensors ---------------------------------------------------------------------
    def prepare_model(self, model: torch.nn.Module) -> torch.nn.Module:
        model = model.to(self.device)
        if self.parallel == "ddp" and self.world_size > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            model = torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)
        elif self.parallel == "fsdp":
            from torch.distributed.fsdp import fully_shard

            for module in model.modules():  # one FSDP unit per transformer block, then the root
                if type(module).__name__ == "T5Block":
                    fully_shard(module)
            fully_shard(model)
        if self.compile_model:
            model = cast(torch.nn.Module, torch.compile(model))  # a compiled Module is a Module (OptimizedModule)
        return model

    def unwrap(self, model: torch.nn.Module) -> torch.nn.Module:
        model = getattr(model, "_orig_mod", model)  # torch.compile
        return model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model

    def to_device(self, batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        pin = self.device.type == "cuda"
        out = {}
        for key, value in iter_tensors(batch):
            tensor = torch.from_numpy(np.ascontiguousarray(value)) if isinstance(value, np.ndarray) else value
            out[key] = (tensor.pin_memory() if pin else tensor).to(self.device, non_blocking=pin)
        return out

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.precision == "bf16":
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    # -- collectives ---------------------------------------------------------------------------
    def all_reduce_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        if self.world_size > 1:
            torch.distributed.all_reduce(tensor, op=torch.distributed.ReduceOp.SUM)
        return tensor

    # -- state ---------------------------------------------------------------------------------
    def state_dict(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None) -> dict[str, Any]:
        if self.parallel == "fsdp":
            from torch.distributed.checkpoint.state_dict import StateDictOptions, get_state_dict

            options = StateDictOptions(full_state_dict=True, cpu_offload=True)
            model_state, optim_state = get_state_dict(model, optimizer or [], options=options)
            return {"model": model_state, "optimizer": optim_state if optimizer is not None else None}
        model_state = {k: v.detach().cpu() for k, v in self.unwrap(model).state_dict().items()}
        return {"model": model_state, "optimizer": _to_cpu(optimizer.state_dict()) if optimizer is not None else None}

    def load_state_dict(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None,
                        state: Mapping[str, Any]) -> None:
        if self.parallel == "fsdp":
            from torch.distributed.checkpoint.state_dict import StateDictOptions, set_state_dict

            options = StateDictOptions(full_state_dict=True, broadcast_from_rank0=False)
            set_state_dict(model, optimizer or [], model_state_dict=state["model"],
                           optim_state_dict=state["optimizer"] if optimizer is not None else {}, options=options)
            return
        self.unwrap(model).load_state_dict(state["model"])
        if optimizer is not None:
            optimizer.load_state_dict(state["optimizer"])

    def seed(self, seed: int) -> None:
        torch.manual_seed(seed)  # dropout draws from torch's default generators; seeded per rank by the loop

    def rng_state(self) -> dict[str, Any]:
        state = {"cpu": torch.get_rng_state()}
        if self.device.type == "cuda":
            state["cuda"] = torch.cuda.get_rng_state(self.device)
        return state

    def set_rng_state(self, state: Mapping[str, Any]) -> None:
        if "cpu" in state:
            torch.set_rng_state(state["cpu"])
        if "cuda" in state and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["cuda"], self.device)


def _to_cpu(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_to_cpu(v) for v in obj)
    return obj
