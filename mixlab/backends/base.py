"""The ``Backend`` interface: everything the training loop needs from a device runtime.

The loop (``mixlab.train.loop``) is written against this class only; ``TorchBackend`` runs on
CPU/CUDA (torchrun DDP/FSDP), an XLA backend implements the same methods with torch-xla.

Call order: ``setup()`` -> ``prepare_model`` -> per step ``to_device``, ``autocast``, ``backward``,
``optimizer_step`` -> ``close()``. Nothing here moves a value to the host except ``to_host``;
the loop calls it only at log and checkpoint steps.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from typing import Any

PRECISIONS = ("auto", "bf16", "fp32")
PARALLELISM = ("auto", "none", "ddp", "fsdp")


class Backend(ABC):
    """A device runtime. Subclasses set ``name`` and implement the abstract methods."""

    name: str = "base"
    #: True when ``all_reduce_sum`` adds up one value per process; False when tensors already span the
    #: global batch of every process (SPMD), so nothing is summed and nothing must be divided by processes
    per_process_values: bool = True

    def __init__(self, *, precision: str = "auto", parallel: str = "auto", compile_model: bool = False) -> None:
        from mixlab.errors import ConfigError

        if precision not in PRECISIONS:
            raise ConfigError(f"backend precision {precision!r} is not one of {PRECISIONS}")
        if parallel not in PARALLELISM:
            raise ConfigError(f"backend parallel {parallel!r} is not one of {PARALLELISM}")
        self.precision = precision
        self.parallel = parallel
        self.compile_model = compile_model  # torch.compile the model (torch backend)
        self.rank, self.world_size, self.local_rank = 0, 1, 0
        self._device: Any = None  # the torch.device, set by setup()
        self._owns_group = False  # set by setup() when it created the torch.distributed process group

    # -- process group -------------------------------------------------------------------------
    @abstractmethod
    def setup(self) -> Backend:
        """Initialise the device and, when launched with several processes, the process group."""

    def close(self) -> None:
        """Tear down what ``setup`` created: the process group, if it made one."""
        import torch.distributed as dist

        if self._owns_group and dist.is_initialized():
            dist.destroy_process_group()
            self._owns_group = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def shard(self) -> tuple[int, int]:
        """``(rank, world)`` for sharding the data stream."""
        return self.rank, self.world_size

    def barrier(self) -> None:
        """Wait for every process (no-op for one)."""
        if self.world_size > 1:
            import torch.distributed as dist

            dist.barrier()

    # -- model and tensors ---------------------------------------------------------------------
    @property
    def device(self) -> Any:
        """The ``torch.device`` this process computes on (set by ``setup()``)."""
        assert self._device is not None, "call setup() first"
        return self._device

    @abstractmethod
    def prepare_model(self, model: Any) -> Any:
        """Move to the device and wrap for data parallelism (DDP/FSDP/SPMD) as configured."""

    @abstractmethod
    def unwrap(self, model: Any) -> Any:
        """The module ``prepare_model`` wrapped."""

    @abstractmethod
    def to_device(self, batch: Mapping[str, Any]) -> dict[str, Any]:
        """Numpy arrays -> device tensors (non-array entries such as ``task_names`` are dropped)."""

    def autocast(self) -> contextlib.AbstractContextManager:
        """Mixed precision for the forward pass (bf16 where supported); fp32 master weights."""
        return contextlib.nullcontext()

    def compile(self, fn: Callable) -> Callable:
        """Compile a step function when the backend benefits from it; identity by default."""
        return fn

    def backward(self, loss: Any) -> None:
        loss.backward()

    @abstractmethod
    def optimizer_step(self, optimizer: Any) -> None:
        """Apply the gradients and zero them."""

    def sync(self) -> None:
        """Flush pending device work (``torch_xla.sync()`` on XLA, CUDA synchronise for timing)."""

    # -- collectives ---------------------------------------------------------------------------
    @abstractmethod
    def all_reduce_sum(self, tensor: Any) -> Any:
        """Sum over processes (returns a tensor; the input may be modified)."""

    def all_reduce_mean(self, tensor: Any) -> Any:
        return self.all_reduce_sum(tensor) / self.world_size

    def all_gather_object(self, obj: Any) -> list[Any]:
        """Every process's ``obj`` (picklable), in rank order."""
        if self.world_size == 1:
            return [obj]
        import torch.distributed as dist

        gathered: list[Any] = [None] * self.world_size
        dist.all_gather_object(gathered, obj)
        return gathered

    def to_host(self, tensor: Any) -> Any:
        """A CPU copy (the only host sync the loop makes, at log and checkpoint steps)."""
        return tensor.detach().cpu()

    # -- state ---------------------------------------------------------------------------------
    @abstractmethod
    def state_dict(self, model: Any, optimizer: Any | None) -> dict[str, Any]:
        """Full (unsharded) CPU state of the model and optimizer: ``{"model": ..., "optimizer": ...}``."""

    @abstractmethod
    def load_state_dict(self, model: Any, optimizer: Any | None, state: Mapping[str, Any]) -> None:
        """Inverse of ``state_dict``; ``optimizer`` None loads the model only."""

    def save(self, obj: Any, path: str) -> None:
        import torch

        torch.save(obj, path)

    def load(self, path: str) -> Any:
        import torch

        return torch.load(path, map_location="cpu", weights_only=False)

    def rng_state(self) -> dict[str, Any]:
        """Random-number state to checkpoint (dropout); restored by ``set_rng_state``."""
        return {}

    def set_rng_state(self, state: Mapping[str, Any]) -> None:
        """Restore ``rng_state()``."""

    def seed(self, seed: int) -> None:
        """Seed the device RNG used by dropout (per rank)."""

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "device": str(self.device), "rank": self.rank, "world_size": self.world_size,
                "precision": self.precision, "parallel": self.parallel}


def iter_tensors(batch: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """The array entries of a batch (skips ``task_names`` and other non-arrays)."""
    for key, value in batch.items():
        if hasattr(value, "shape"):
            yield key, value
