"""Runs: what an experiment expands into, each identified by a hash of its resolved config.

```
protocol.expand(spec) -> [RunSpec(key, kind, config | eval, parent key, parent step, labels)]
plan(spec, runs)      -> Plan: runs in dependency order, key -> hash; same hash = same run, done once
```

A run's hash covers everything that changes what it computes: its kind, its training config (without
``name`` and ``out_dir``), the resolved mixture (each leaf task's probability and
version), the tokenizer file's SHA-256, its evaluation settings, and its parent's hash and step.
Labels, keys and the experiment's folder are left out, so the same spec gives the same hashes in any
folder, with any executor, and two roles that need the same run share it.

>>> RunSpec(key="pre", kind="pretrain", config={"steps": 4}).parent is None
True
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mixlab.errors import ConfigError

KINDS = ("pretrain", "finetune", "eval")
HASH_FORMAT = 1
HASH_LENGTH = 16
#: config fields that name a run or say where it is written, not what it computes (a parent checkpoint
#: is set as init_from when the run executes; the parent's hash stands for it)
UNHASHED_FIELDS = ("name", "out_dir")


class RunSpec(BaseModel):
    """One run of an experiment before it is planned: ``config`` for training kinds, ``eval`` for ``eval``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(min_length=1, description="the run's role in the experiment, e.g. 'pair/CLS+NLI'")
    kind: Literal["pretrain", "finetune", "eval"]
    config: dict[str, Any] | None = Field(default=None, description="PretrainConfig fields (training kinds)")
    eval: dict[str, Any] | None = Field(default=None, description="tasks, split, max_examples, scorer, batch_size")
    parent: str | None = Field(default=None, description="key of the run whose checkpoint this one starts from")
    parent_step: int | None = Field(default=None, gt=0, description="that checkpoint's step (default: its last)")
    labels: dict[str, Any] = Field(default_factory=dict, description="what the protocol's tables need (unhashed)")

    @model_validator(mode="after")
    def _fits_kind(self) -> RunSpec:
        if self.kind == "eval":
            if self.eval is None or self.parent is None:
                raise ValueError(f"run {self.key!r}: an eval run needs eval settings and a parent run to score")
        elif self.config is None:
            raise ValueError(f"run {self.key!r}: a {self.kind} run needs a training config")
        if self.kind == "finetune" and self.parent is None and not (self.config or {}).get("init_from"):
            raise ValueError(f"run {self.key!r}: a finetune run needs a parent run or an init_from checkpoint")
        return self

    @property
    def steps(self) -> int | None:
        return None if self.config is None else int(self.config["steps"])


@dataclass(frozen=True, kw_only=True)
class PlannedRun:
    """A run with its hash, its parent's hash, and every key it plays in the experiment."""

    spec: RunSpec
    hash: str
    parent_hash: str | None
    keys: tuple[str, ...]
    mixture: str | None = None
    #: the validated training config the run executes (tokenizer and mixture paths resolved), if it trains
    config: dict[str, Any] | None = None
    #: parent checkpoint steps its children start from (kept and verified)
    needed_steps: tuple[int, ...] = ()

    @property
    def kind(self) -> str:
        return self.spec.kind

    def folder(self, root: str | Path) -> Path:
        return run_folder(root, self.hash)


@dataclass(frozen=True, kw_only=True)
class Plan:
    """The runs of an experiment in dependency order (parents first), one per hash."""

    runs: list[PlannedRun]
    hash_of: dict[str, str]  # key -> hash
    specs: dict[str, RunSpec] = field(default_factory=dict)  # key -> the run spec the protocol gave

    def by_hash(self) -> dict[str, PlannedRun]:
        return {run.hash: run for run in self.runs}

    def run(self, key: str) -> PlannedRun:
        if key not in self.hash_of:
            raise KeyError(f"no run {key!r} in the plan; keys: {sorted(self.hash_of)[:8]} ...")
        return self.by_hash()[self.hash_of[key]]


def run_folder(root: str | Path, run_hash: str) -> Path:
    """``DIR/runs/<hash>``: where a run writes (a mixlab run folder for training runs)."""
    return Path(root) / "runs" / run_hash


def canonical_hash(payload: Mapping[str, Any]) -> str:
    """SHA-256 (first :data:`HASH_LENGTH` hex digits) of ``payload`` as canonical JSON."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:HASH_LENGTH]


def make_plan(runs: Sequence[RunSpec], fingerprint: Any) -> Plan:
    """Order ``runs`` parents-first, hash each, merge runs with equal hashes (their keys are kept).

    ``fingerprint(run) -> dict`` gives what the hash covers besides kind, eval settings and parent
    (the resolved config and mixture, see :func:`mixlab.experiments.resolve.fingerprint`).
    """
    by_key: dict[str, RunSpec] = {}
    for run in runs:
        if run.key in by_key:
            raise ConfigError(f"two runs share the key {run.key!r}; a protocol must give each run its own key")
        by_key[run.key] = run
    order = _parents_first(by_key)
    hash_of: dict[str, str] = {}
    merged: dict[str, dict[str, Any]] = {}
    needed: dict[str, set[int]] = {}
    for key in order:
        run = by_key[key]
        parent_hash = hash_of[run.parent] if run.parent else None
        facts = fingerprint(run)
        payload = {"format": HASH_FORMAT, "kind": run.kind, "eval": run.eval, "parent": parent_hash,
                   "parent_step": run.parent_step, **facts["hashed"]}
        run_hash = canonical_hash(payload)
        hash_of[key] = run_hash
        if run_hash in merged:
            merged[run_hash]["keys"].append(key)
        else:
            merged[run_hash] = {"spec": run, "hash": run_hash, "parent_hash": parent_hash, "keys": [key],
                                "mixture": facts.get("mixture"), "config": facts.get("config")}
        if parent_hash is not None and run.parent_step is not None:
            needed.setdefault(parent_hash, set()).add(run.parent_step)
    planned = [PlannedRun(spec=m["spec"], hash=h, parent_hash=m["parent_hash"], keys=tuple(m["keys"]),
                          mixture=m["mixture"], config=m["config"], needed_steps=tuple(sorted(needed.get(h, ()))))
               for h, m in merged.items()]
    return Plan(runs=planned, hash_of=hash_of, specs={key: by_key[key] for key in order})


def _parents_first(by_key: Mapping[str, RunSpec]) -> list[str]:
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = visiting, 2 = done

    def visit(key: str, path: tuple[str, ...]) -> None:
        if state.get(key) == 2:
            return
        if state.get(key) == 1:
            raise ConfigError(f"runs depend on each other in a circle: {' -> '.join(path + (key,))}")
        state[key] = 1
        parent = by_key[key].parent
        if parent is not None:
            if parent not in by_key:
                raise ConfigError(f"run {key!r} starts from run {parent!r}, which the experiment does not have; "
                                  f"known: {sorted(by_key)[:8]}")
            visit(parent, path + (key,))
        state[key] = 2
        order.append(key)

    for key in by_key:
        visit(key, ())
    return order


__all__ = ["HASH_FORMAT", "KINDS", "Plan", "PlannedRun", "RunSpec", "canonical_hash", "make_plan", "run_folder"]
