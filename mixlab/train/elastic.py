"""Elastic data: a fixed number V of virtual data shards, spread over however many processes there are.

```
global batch of step t = shard 0's batch t + shard 1's batch t + ... + shard V-1's batch t
    shard v: stream shard (v, V), batch_size / V rows, its own batch iterator and state
process r of W owns shards r·V/W ... (r+1)·V/W - 1 and trains on their batches side by side (W divides V)
```

A shard's batches depend on ``(v, V)``, the seed and the settings only, never on W, so the global
batch of every step is the same set of examples on any number of processes, and a checkpoint's data
state (one state per shard) can be dealt out to another number of processes: a run saved on W
processes resumes on W' as long as W' divides V. ``data_shards`` in the config sets V (default: the
process count of the run's start, which keeps each process's data exactly what it was before
virtual shards existed); pick a multiple of every process count you may resume on (e.g. 8).
Impossible resumes are refused with the fix named: W' not dividing V, another global batch size,
another ``data_shards``. Elastic resume keeps the examples, not bit-identical losses: the loss is
averaged per process, and the per-process RNG streams (dropout) start afresh when W changes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mixlab.errors import ConfigError, ResumeError
from mixlab.resumable import check_state, header
from mixlab.train.data import Batch, BatchSource, as_source

log = logging.getLogger(__name__)
STATE_KIND, STATE_VERSION = "mixlab.train.shards", 1


class ShardView:
    """The backend as one virtual data shard sees it: rank ``v`` of ``num_shards`` (all else is the backend's)."""

    def __init__(self, backend: Any, shard: int, num_shards: int) -> None:
        self._backend, self.rank, self.world_size = backend, shard, num_shards

    @property
    def shard(self) -> tuple[int, int]:
        return self.rank, self.world_size

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)


class ShardedBatches:
    """Several virtual shards' batch sources as one: each batch is theirs side by side (in shard order)."""

    kind = STATE_KIND

    def __init__(self, sources: Mapping[int, BatchSource], num_shards: int) -> None:
        self.sources, self.num_shards = dict(sorted(sources.items())), num_shards
        first = next(iter(self.sources.values()))
        self.task_names = list(first.task_names)
        self.mixture = getattr(first, "mixture", None)

    @property
    def stats(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for source in self.sources.values():
            for key, value in (getattr(source, "stats", None) or {}).items():
                totals[key] = totals.get(key, 0) + int(value)
        return totals

    def __iter__(self) -> Iterator[Batch]:
        iterators = [iter(source) for source in self.sources.values()]
        while True:
            parts = []
            for iterator in iterators:
                part = next(iterator, None)
                if part is None:
                    return
                parts.append(part)
            yield concat_batches(parts)

    def state_dict(self) -> dict[str, Any]:
        return {**header(STATE_KIND, STATE_VERSION), "num_shards": self.num_shards,
                "shards": {str(v): source.state_dict() for v, source in self.sources.items()}}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        state = check_state(state, STATE_KIND, STATE_VERSION)
        for v, source in self.sources.items():
            source.load_state_dict(state["shards"][str(v)])

    def prepare_change(self, state: Mapping[str, Any] | None) -> int:
        """The largest first-free stream position over this process's shards (see ``mixlab.train.mixing``)."""
        return max(source.prepare_change(None if state is None else state["shards"][str(v)])  # type: ignore[attr-defined]
                   for v, source in self.sources.items())

    def set_probabilities(self, probabilities: Mapping[str, float], at_position: int) -> None:
        for source in self.sources.values():
            source.set_probabilities(probabilities, at_position=at_position)  # type: ignore[attr-defined]


def concat_batches(parts: list[Batch]) -> Batch:
    """Batches side by side (rows of the first, then of the second, ...); ``task_names`` is shared."""
    if len(parts) == 1:
        return parts[0]
    return {key: np.concatenate([p[key] for p in parts]) if isinstance(value, np.ndarray) else value
            for key, value in parts[0].items()}


class DataShards:
    """Builds this process's training source over V virtual shards, and deals a checkpoint's shards out again."""

    def __init__(self, factory: Any, config: Any, backend: Any, vocab_size: int, tokenizer: Any, registry: Any) -> None:
        self.factory, self.config, self.backend = factory, config, backend
        self.vocab_size, self.tokenizer, self.registry = vocab_size, tokenizer, registry
        self.num_shards = 0

    def build(self, num_shards: int) -> BatchSource:
        """The source of this process's shards out of ``num_shards`` (refused when they do not split evenly)."""
        world, rank, batch_size = self.backend.world_size, self.backend.rank, self.config.batch_size
        if num_shards % world:
            raise ResumeError(f"the run's data has {num_shards} virtual data shard(s), which {world} processes "
                              f"cannot share evenly; fix: run on a number of processes that divides {num_shards}, "
                              f"or start runs with data_shards set to a multiple of every process count you will "
                              f"use (e.g. 8)")
        if batch_size % num_shards:
            raise ConfigError(f"batch_size {batch_size} does not split over {num_shards} data shards; fix: use a "
                              f"multiple of {num_shards} (or another data_shards)")
        self.num_shards = num_shards
        if num_shards == world:  # one shard per process: the process's own source, as without virtual shards
            return as_source(self._make(self.backend))
        per = num_shards // world
        own = range(rank * per, (rank + 1) * per)
        return ShardedBatches({v: as_source(self._make(ShardView(self.backend, v, num_shards))) for v in own},
                              num_shards)

    def _make(self, view: Any) -> Any:
        return self.factory(self.config, view, self.vocab_size, tokenizer=self.tokenizer, registry=self.registry)

    def restore(self, trainer: Mapping[str, Any], folder: Path, source: BatchSource) -> tuple[BatchSource, Any]:
        """This process's source and data state from a checkpoint's ``trainer`` record, on any fitting world size."""
        saved_world = int(trainer["world_size"])
        num_shards = int(trainer.get("data_shards") or saved_world)
        wanted = self.config.data_shards
        if wanted is not None and wanted != num_shards:
            raise ResumeError(f"checkpoint {folder} has {num_shards} data shards, the config asks for {wanted}; fix: "
                              f"resume with data_shards: {num_shards} (or leave it out)")
        saved_batch = (trainer.get("config") or {}).get("batch_size")
        if saved_batch is not None and saved_batch != self.config.batch_size:
            raise ResumeError(f"checkpoint {folder} was trained with global batch size {saved_batch}, this config has "
                              f"{self.config.batch_size}; the same examples cannot make other batches; fix: resume "
                              f"with batch_size: {saved_batch}, or start a new run (init_from keeps the weights)")
        if num_shards != self.num_shards:
            source = self.build(num_shards)
        world = self.backend.world_size
        if saved_world == world:  # the same process count: each process takes its own state back
            return source, trainer["data"][self.backend.rank]
        states = split_states(trainer["data"], num_shards, folder)
        log.info("elastic resume: %d data shards saved by %d processes, dealt to %d", num_shards, saved_world, world)
        if num_shards == world:
            return source, states[self.backend.rank]
        assert isinstance(source, ShardedBatches)
        return source, {**header(STATE_KIND, STATE_VERSION), "num_shards": num_shards,
                        "shards": {str(v): states[v] for v in source.sources}}


def split_states(per_process: list[Any], num_shards: int, folder: Path) -> dict[int, Any]:
    """Shard -> state, from the states the processes saved (one shard's state, or a ``ShardedBatches`` state)."""
    states: dict[int, Any] = {}
    for state in per_process:
        if isinstance(state, Mapping) and state.get("kind") == STATE_KIND:
            states.update({int(v): s for v, s in state["shards"].items()})
        elif isinstance(state, Mapping) and isinstance(state.get("shard"), list | tuple):
            states[int(state["shard"][0])] = state
        else:
            raise ResumeError(f"checkpoint {folder}: a data state that does not say which shard it is "
                              f"({type(state).__name__}); fix: resume with the same number of processes")
    if sorted(states) != list(range(num_shards)):
        raise ResumeError(f"checkpoint {folder} holds data states for shards {sorted(states)}, not "
                          f"0..{num_shards - 1}; fix: resume with the same number of processes")
    return states


def restore_rng(backend: Any, states: list[Any]) -> None:
    """Each process's RNG state back; on another process count they keep their fresh seeds (logged)."""
    if len(states) == backend.world_size:
        backend.set_rng_state(states[backend.rank])
    else:
        log.info("elastic resume: %d saved RNG states for %d processes; the processes keep their fresh seeds",
                 len(states), backend.world_size)


__all__ = ["DataShards", "ShardView", "ShardedBatches", "concat_batches", "restore_rng", "split_states"]
