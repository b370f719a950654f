"""``XlaBackend``: TPU (or CPU for tests) through torch-xla's PJRT runtime, one process per host.

Data parallelism is SPMD: one process per host sees all of its devices, each batch is sharded
along its first (batch) dimension over a 1-D device mesh, and XLA inserts the gradient
all-reduce. ``parallel="fsdp"`` also shards every parameter over that mesh, one FSDPv2 unit per
T5 block (``SpmdFullyShardedDataParallel``), for models whose weights and Adafactor state do not
fit one chip. ``parallel="none"`` runs on the first device without SPMD.

Everything the loop runs per step goes through ``compile`` (``torch_xla.compile(full_graph=True)``):
a hidden host sync (``.item()``, ``float(tensor)``, a Python branch on a tensor) raises instead of
silently splitting the graph. Batches have fixed shapes, so the step compiles twice: for the first
step (which creates the optimizer state) and once for all later ones; ``compile_count`` reads the
count from ``torch_xla.debug.metrics`` so tests and benchmarks can check it stays flat.

torch-xla is imported only here (2.9.0 is its last release and needs torch 2.9.0 exactly).
Checkpoints are full CPU copies (``state_dict``) assembled from the device shards without compiling
anything, written by the main process. Pod slices run one process per host (``rank`` =
``xr.process_index()``, ``world_size`` = hosts, each loading its share of the global batch); a gloo
process group (``xla://``) carries the host-side barrier and gathers. Not yet on several hosts:
``fsdp`` checkpoints (shards live on other hosts; ``state_dict`` raises).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import numpy as np
import torch

from mixlab.backends.base import Backend, iter_tensors
from mixlab.errors import CheckpointError, ConfigError

try:
    import torch_xla
    import torch_xla.core.xla_model as xm
    import torch_xla.debug.metrics as met
    import torch_xla.distributed.spmd as xs
    import torch_xla.runtime as xr
except ImportError as exc:  # re-raised with the install instruction
    raise ImportError(
        "mixlab's xla backend needs torch-xla; install it in its own environment with "
        "`pip install 'mixlab[xla]'` (torch-xla 2.9.0 requires torch 2.9.0 exactly), "
        f"or use the torch backend (--backend torch). Import failed with: {exc}"
    ) from exc

log = logging.getLogger(__name__)

#: mesh axis name per parallel mode (FSDPv2 requires the axis to be called "fsdp")
_AXIS = {"ddp": "data", "fsdp": "fsdp"}
#: wrapper attribute FSDPv2 inserts into parameter names; stripped from checkpoints
_WRAPPED = "_orig_module."


def compile_count() -> int:
    """How many XLA graphs this process has compiled so far (``CompileTime`` samples)."""
    data = met.metric_data("CompileTime")
    return int(data[0]) if data else 0


class XlaBackend(Backend):
    """torch-xla backend: SPMD data parallel (or FSDPv2) over every device of the host.

    Options besides the base ones (``precision``, ``parallel``): ``max_graphs`` caps the distinct
    graphs ``compile`` may trace (``torch_xla.compile(max_different_graphs=...)``; None = no cap).
    ``compile`` is accepted for symmetry with the torch backend but has no effect: XLA always
    compiles the whole step.
    """

    per_process_values = False  # SPMD: device tensors span every host's rows (see all_reduce_sum)

    name = "xla"

    def __init__(self, *, max_graphs: int | None = None, **options: Any) -> None:
        super().__init__(**options)
        if max_graphs is not None and max_graphs < 1:
            raise ConfigError(f"xla backend max_graphs must be >= 1 or None; got {max_graphs}")
        self.max_graphs = max_graphs
        self.mesh: Any = None
        self._input_sharding: Any = None

    # -- process group -------------------------------------------------------------------------
    def setup(self) -> XlaBackend:
        if self.parallel == "auto":
            self.parallel = "ddp"
        if self.parallel != "none":
            if not xr.is_spmd():
                xr.use_spmd()  # must precede any tensor placed on the device
            num_devices = xr.global_runtime_device_count()
            axis = _AXIS[self.parallel]
            self.mesh = xs.Mesh(np.arange(num_devices), (num_devices,), (axis,))
            xs.set_global_mesh(self.mesh)
            # each host loads its own rows; with several hosts they form the global batch together
            self._input_sharding = xs.ShardingSpec(self.mesh, (axis, None), minibatch=xr.process_count() > 1)
        self._device = torch_xla.device()
        self.rank, self.world_size = xr.process_index(), xr.process_count()
        self.local_rank = 0
        if self.world_size > 1 and not torch.distributed.is_initialized():
            importlib.import_module("torch_xla.distributed.xla_backend")  # registers the xla:// rendezvous
            # host-side coordination only (barrier, gathering data states); tensors never use it
            torch.distributed.init_process_group("gloo", init_method="xla://")
            self._owns_group = True
        if self.precision == "auto":
            self.precision = "bf16" if xr.device_type() == "TPU" else "fp32"
        log.info("xla backend: %s", self.describe())
        return self

    @property
    def num_devices(self) -> int:
        """Devices the step runs on (all of them under SPMD, one otherwise)."""
        return int(self.mesh.size()) if self.mesh is not None else 1

    # -- model and tensors ---------------------------------------------------------------------
    def prepare_model(self, model: torch.nn.Module) -> torch.nn.Module:
        """Move to the device; under ``fsdp`` wrap each T5 block (and the root) in FSDPv2.

        Under ``ddp`` the parameters stay replicated: sharding the batch is all SPMD needs.
        """
        model = model.to(self.device)
        if self.parallel != "fsdp":
            return model
        from torch_xla.distributed.fsdp.wrap import transformer_auto_wrap_policy
        from torch_xla.experimental.spmd_fully_sharded_data_parallel import SpmdFullyShardedDataParallel

        block_types = {type(m) for m in model.modules() if type(m).__name__ == "T5Block"}
        if not block_types:
            raise ConfigError(f"parallel='fsdp' wraps each T5Block, but {type(model).__name__} has none; "
                              "use parallel='ddp' for other models")
        policy = functools.partial(transformer_auto_wrap_policy, transformer_layer_cls=block_types)
        return SpmdFullyShardedDataParallel(model, mesh=self.mesh, auto_wrap_policy=policy,
                                            shard_output=_shard_batch_dim)

    def unwrap(self, model: torch.nn.Module) -> torch.nn.Module:
        return getattr(model, "module", model) if type(model).__name__ == "SpmdFullyShardedDataParallel" else model

    def to_device(self, batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """Numpy arrays -> device tensors, sharded along the batch dimension under SPMD.

        Tensors already on the XLA device (from ``loader``) pass through unchanged.
        """
        names, host = [], []
        out: dict[str, torch.Tensor] = {}
        for key, value in iter_tensors(batch):
            tensor = torch.from_numpy(np.ascontiguousarray(value)) if isinstance(value, np.ndarray) else value
            if tensor.device.type == "xla":
                out[key] = tensor
            else:
                names.append(key)
                host.append(tensor)
        if host:
            self._check_batch_size(host[0].shape[0])
            out.update(zip(names, xm.send_cpu_data_to_device(host, self.device, self._input_sharding), strict=True))
        return out

    def loader(self, batches: Iterable[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
        """A background loader (``MpDeviceLoader``) moving batches to the device ahead of the step.

        Array entries arrive as sharded device tensors; other entries (``task_names``) are kept.
        """
        import torch_xla.distributed.parallel_loader as pl

        def as_torch(batch: Mapping[str, Any]) -> dict[str, Any]:
            self._check_batch_size(next(v for _, v in iter_tensors(batch)).shape[0])
            return {k: torch.from_numpy(np.ascontiguousarray(v)) if isinstance(v, np.ndarray) else v
                    for k, v in batch.items()}

        return iter(pl.MpDeviceLoader(map(as_torch, batches), self.device, input_sharding=self._input_sharding))

    def _check_batch_size(self, rows: int) -> None:
        local = xr.addressable_runtime_device_count() if self.mesh is not None else 1
        if rows % local:
            raise ConfigError(f"xla backend shards each batch over {local} devices, but this process's batch has "
                              f"{rows} rows; set batch_size to a multiple of {local * self.world_size}")

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.precision == "bf16":
            return torch.autocast("xla", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def compile(self, fn: Callable) -> Callable:
        """``torch_xla.compile(fn, full_graph=True)``: one graph per call, host syncs are errors."""
        return torch_xla.compile(fn, full_graph=True, name=getattr(fn, "__name__", None),
                                 max_different_graphs=self.max_graphs)

    def optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        # under SPMD the gradients are already global (XLA all-reduces them); xm.optimizer_step's
        # reduce is a no-op then, and does the cross-replica sum for multi-process runs
        xm.optimizer_step(optimizer)
        optimizer.zero_grad(set_to_none=True)

    def sync(self) -> None:
        torch_xla.sync()

    # -- collectives ---------------------------------------------------------------------------
    def all_reduce_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """Identity: under SPMD every tensor already spans the global batch of all hosts."""
        return tensor

    def all_reduce_mean(self, tensor: torch.Tensor) -> torch.Tensor:
        return tensor

    # -- state ---------------------------------------------------------------------------------
    def state_dict(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None) -> dict[str, Any]:
        """Full CPU copies (sharded tensors are gathered); parameter names as in the unwrapped model."""
        torch_xla.sync()  # pending updates land first
        model_state = {_clean(k): v for k, v in self.unwrap(model).state_dict().items()}
        optimizer_state = optimizer.state_dict() if optimizer is not None else None
        return _to_cpu({"model": model_state, "optimizer": optimizer_state})

    def load_state_dict(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None,
                        state: Mapping[str, Any]) -> None:
        module = self.unwrap(model)
        actual = {_clean(k): k for k in module.state_dict()}  # checkpoint name -> FSDPv2-wrapped name
        module.load_state_dict({actual.get(k, k): v for k, v in state["model"].items()})  # strict, like torch
        # copy_ into a sharded parameter keeps its sharding (checked in tests/backends/test_xla.py)
        if optimizer is not None:  # mixlab's Adafactor keeps the live lr tensor and moves "step" to the device
            optimizer.load_state_dict(state["optimizer"])

    def seed(self, seed: int) -> None:
        torch.manual_seed(seed)
        xm.set_rng_state(seed)  # dropout on the device draws from torch-xla's own generator

    def rng_state(self) -> dict[str, Any]:
        return {"cpu": torch.get_rng_state(), "xla": int(xm.get_rng_state())}

    def set_rng_state(self, state: Mapping[str, Any]) -> None:
        if "cpu" in state:
            torch.set_rng_state(state["cpu"])
        if "xla" in state:
            xm.set_rng_state(int(state["xla"]))

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info.update(device_type=xr.device_type(), num_devices=self.num_devices, spmd=self.mesh is not None)
        return info

    def metrics_report(self) -> str:
        """torch-xla's metrics report (compilations, executions, transfers)."""
        return met.short_metrics_report()


def _shard_batch_dim(output: Any, mesh: Any) -> None:
    """FSDPv2 ``shard_output``: shard the first tensor of a block's output along the batch."""
    tensor = output[0] if isinstance(output, tuple | list) else getattr(output, "last_hidden_state", output)
    if isinstance(tensor, torch.Tensor):
        xs.mark_sharding(tensor, mesh, ("fsdp",) + (None,) * (tensor.dim() - 1))


def _clean(name: str) -> str:
    return name.replace(_WRAPPED, "")


def _to_cpu(obj: Any) -> Any:
    """The same nested structure with every tensor copied to the host in one batch."""
    leaves, spec = torch.utils._pytree.tree_flatten(obj)
    where = [i for i, leaf in enumerate(leaves) if isinstance(leaf, torch.Tensor)]
    for i, host in zip(where, _host_copies([leaves[i].detach() for i in where]), strict=True):
        leaves[i] = host
    return torch.utils._pytree.tree_unflatten(leaves, spec)


def _host_copies(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    """CPU copies of XLA tensors without compiling anything: sharded tensors come back shard by shard
    (``.cpu()`` would compile a gather graph per tensor) and are reassembled here.

    All shards must be addressable: one host (replicated tensors work on any number of hosts).
    """
    out: list[torch.Tensor | None] = [t if t.device.type != "xla" else None for t in tensors]
    on_device = [i for i, t in enumerate(out) if t is None]
    sharded = [i for i in on_device if _is_sharded(tensors[i])]
    plain = sorted(set(on_device) - set(sharded))
    for i, host in zip(plain, torch_xla._XLAC._xla_get_cpu_tensors([tensors[i] for i in plain]), strict=True):
        out[i] = host
    if sharded and xr.process_count() > 1:
        raise CheckpointError("the xla backend gathers sharded tensors on one host only; a multi-host run with "
                              "parallel='fsdp' cannot write a full checkpoint yet; fix: use parallel='ddp' on "
                              "pod slices, or one host")
    group = [tensors[i] for i in sharded]
    shards = torch_xla._XLAC._get_local_shards(group)
    places = torch_xla._XLAC._get_local_shard_replica_and_indices(group)
    for i, tensor_shards, tensor_places in zip(sharded, shards, places, strict=True):
        full = torch.empty(tensors[i].shape, dtype=tensors[i].dtype)
        for (data, _device), (_replica, index) in zip(tensor_shards, tensor_places, strict=True):
            region = full[index if index is Ellipsis else tuple(index)]
            region.copy_(data[tuple(slice(0, n) for n in region.shape)])  # the last shard may be padded
        out[i] = full
    return out  # type: ignore[return-value]


def _is_sharded(tensor: torch.Tensor) -> bool:
    wrapped = xs.wrap_if_sharded(tensor)
    return isinstance(wrapped, xs.XLAShardedTensor) and wrapped.sharding_type != xs.ShardingType.REPLICATED
