"""What every protocol shares: the ``Protocol`` interface, the results view it summarises, run builders.

A protocol turns a spec into runs (``expand``) and finished runs into the paper's tables and figures
(``summarize``). Training runs take their settings from the spec's ``train`` section (fine-tuning
runs: ``train``, then :data:`FINETUNE_DEFAULTS`, then the spec's ``finetune`` section); eval runs
score a checkpoint on explicit task names with the spec's ``eval`` settings.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mixlab.errors import ConfigError, describe_validation_error
from mixlab.experiments.runs import Plan, RunSpec

if TYPE_CHECKING:
    from mixlab.registry import Registry

#: ExT5 §3 fine-tuning (as mixlab.finetune): fresh optimizer (init_from), constant learning rate 1e-3, dropout 0.1
FINETUNE_DEFAULTS: dict[str, Any] = {"learning_rate": 1e-3, "lr_schedule": "constant", "model": {"dropout_rate": 0.1}}
TaskRef = list[str] | dict[str, str]
#: eval batch size when the spec gives none: the training batch size, but at most this (decoding is memory-hungry)
EVAL_BATCH_SIZE = 64


class Params(BaseModel):
    """Base of a protocol's ``params`` section."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Start(Params):
    """Where training starts: a checkpoint (``checkpoint``), a base run the experiment trains first
    (``mixture`` for ``steps``), or, when absent, freshly initialised weights."""

    checkpoint: str | None = Field(default=None, description="a run folder or step_* folder to start from")
    mixture: str | dict[str, Any] | None = Field(default=None, description="pre-train a base run on this first")
    steps: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_start(self) -> Start:
        if (self.checkpoint is None) == (self.mixture is None):
            raise ValueError("start needs exactly one of checkpoint (a path) or mixture + steps (a base run)")
        if self.mixture is not None and self.steps is None:
            raise ValueError("start.mixture needs start.steps (how long the base run trains)")
        return self


class GroupParams(Params):
    """Base of the params of a protocol over task groups: ``groups``, or one group per family
    (``families``, each narrowed by ``within``); at least 2 groups."""

    groups: dict[str, TaskRef] | None = Field(default=None, description="group name -> task names/globs or selector")
    families: list[str] | None = Field(default=None, description="shortcut: one group per family, named by it")
    within: dict[str, str] = Field(default_factory=dict, description="selector fields added to each family group")
    #: what needs the groups, in the "needs at least 2 groups" error
    groups_needed_by: ClassVar[str] = "this protocol"

    @model_validator(mode="after")
    def _groups(self) -> GroupParams:
        if (self.groups is None) == (self.families is None):
            raise ValueError("give exactly one of groups (name -> tasks) or families (a list of family names)")
        if len(self.group_refs()) < 2:
            raise ValueError(f"{self.groups_needed_by} needs at least 2 groups")
        return self

    def group_refs(self) -> dict[str, TaskRef]:
        if self.groups is not None:
            return dict(self.groups)
        return {family: {**self.within, "family": family} for family in self.families or []}

    def group_tasks(self, registry: Registry) -> dict[str, list[str]]:
        """Group name -> its task names, sorted by group name."""
        return {name: resolve_tasks(ref, registry, f"params.groups.{name}")
                for name, ref in sorted(self.group_refs().items())}


@dataclass(frozen=True, kw_only=True)
class Summary:
    """A protocol's outputs: tables (name -> rows, written as ``DIR/<name>.csv``), figures, notes."""

    title: str
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    figures: dict[str, str] = field(default_factory=dict)  # file name in DIR -> caption
    notes: list[str] = field(default_factory=list)
    #: table name -> the sentence saying how to read it
    captions: dict[str, str] = field(default_factory=dict)


class Results:
    """The finished runs of a plan, looked up by the keys the protocol gave them."""

    def __init__(self, plan: Plan, rows: Mapping[str, dict[str, Any]], metric: str, root: Path) -> None:
        self.plan, self.rows, self.metric, self.root = plan, rows, metric, root

    def row(self, key: str) -> dict[str, Any]:
        found = self.rows.get(self.plan.hash_of[key])
        if found is None or found.get("status") != "done":
            status = None if found is None else found.get("status")
            raise ConfigError(f"run {key!r} ({self.plan.hash_of[key]}) is not done (status {status!r}); fix: "
                              f"rerun the experiment to finish it")
        return found

    def is_done(self, key: str) -> bool:
        found = self.rows.get(self.plan.hash_of.get(key, ""))
        return found is not None and found.get("status") == "done"

    def task_scores(self, key: str, metric: str | None = None) -> dict[str, float]:
        tasks = (self.row(key).get("metrics") or {}).get("tasks") or {}
        metric = metric or self.metric
        return {task: float(values[metric]) for task, values in tasks.items() if metric in values}

    def score(self, key: str, tasks: Iterable[str] | None = None, metric: str | None = None) -> float:
        """Mean of ``metric`` (default: the spec's) over ``tasks`` (default: all scored) of eval run ``key``."""
        scores = self.task_scores(key, metric)
        wanted = sorted(scores) if tasks is None else sorted(tasks)
        missing = [t for t in wanted if t not in scores]
        if missing or not wanted:
            raise ConfigError(f"eval run {key!r} has no {metric or self.metric!r} for {missing or 'any task'}")
        return math.fsum(scores[t] for t in wanted) / len(wanted)

    def tokens(self, key: str) -> int:
        return int(self.row(key).get("tokens") or 0)

    def keys(self, prefix: str = "") -> list[str]:
        return [key for key in self.plan.specs if key.startswith(prefix)]

    def labels(self, key: str) -> dict[str, Any]:
        return dict(self.plan.specs[key].labels)


class Protocol:
    """Subclass with ``name``, ``title``, ``params_model``, ``expand`` and ``summarize``."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    params_model: ClassVar[type[Params]] = Params

    @classmethod
    def parse_params(cls, params: Mapping[str, Any]) -> Any:
        """``params`` validated by ``params_model``; a ``ValueError`` naming each ``params.<field>`` otherwise."""
        try:
            return cls.params_model(**params)
        except ValidationError as exc:
            text = describe_validation_error(f"{cls.name} params", None, exc)
            raise ValueError(text.replace("\n  ", "\n  params.")) from None

    @classmethod
    def check_spec(cls, spec: Any) -> None:
        """Refuse spec settings this protocol cannot use (e.g. a lower-is-better metric); default: none."""

    def expand(self, spec: Any, registry: Registry) -> list[RunSpec]:
        raise NotImplementedError

    def summarize(self, spec: Any, results: Results, out: Path) -> Summary:
        raise NotImplementedError


# -- run builders ---------------------------------------------------------------------------------
def merge(base: Mapping[str, Any], *updates: Mapping[str, Any]) -> dict[str, Any]:
    """Nested-dict merge, later wins; a string ``model`` (a preset name) counts as ``{preset: name}``."""
    out: dict[str, Any] = {}
    for update in (base, *updates):
        for key, value in update.items():
            if key == "model" and isinstance(value, str):
                value = {"preset": value}
            if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
                out[key] = merge(out[key], value)
            else:
                out[key] = dict(value) if isinstance(value, Mapping) else value
    return out


def train_config(spec: Any, *, steps: int, mixture: Any, seed: int, **extra: Any) -> dict[str, Any]:
    """A pre-training run's config: ``spec.train`` + this run's steps, mixture and seed (+ ``extra``)."""
    settings = merge(spec.train, extra, {"steps": steps, "mixture": mixture, "seed": seed})
    settings.setdefault("checkpoint_interval", max(1, steps // 4))  # cut runs resume, not restart
    return settings


def finetune_config(spec: Any, *, steps: int, mixture: Any, seed: int, **extra: Any) -> dict[str, Any]:
    """ExT5 §3 fine-tuning on ``mixture``: constant learning rate, dropout 0.1 (then ``spec.finetune``)."""
    settings = merge(spec.train, FINETUNE_DEFAULTS, spec.finetune, extra,
                     {"steps": steps, "mixture": mixture, "seed": seed})
    settings.setdefault("checkpoint_interval", max(1, steps // 2))
    return settings


def eval_run(spec: Any, key: str, parent: str, tasks: Sequence[str], *, step: int | None = None,
             labels: Mapping[str, Any] | None = None) -> RunSpec:
    settings = {"tasks": sorted(tasks), "split": spec.eval.split, "max_examples": spec.eval.max_examples,
                "scorer": spec.eval.scorer,
                "batch_size": spec.eval.batch_size or min(EVAL_BATCH_SIZE, int(spec.train.get("batch_size", 128)))}
    return RunSpec(key=key, kind="eval", eval=settings, parent=parent, parent_step=step, labels=dict(labels or {}))


def proportional(name: str, tasks: Sequence[str], cap: float | None = None) -> dict[str, Any]:
    """An inline mixture spec: ``tasks`` mixed examples-proportionally (with ``cap``)."""
    strategy: dict[str, Any] = {"kind": "proportional", **({"cap": cap} if cap is not None else {})}
    return {"name": name, "tasks": sorted(tasks), "strategy": strategy}


def rmix(name: str, self_supervised: Any, supervised: Any, R: float, registry: Registry) -> dict[str, Any]:
    """ExT5 R-mixing; ``R == 0`` is the supervised side alone (no self-supervised data)."""
    if R == 0:
        return as_mixture(supervised, registry, name)
    return {"name": name, "rmix": {"self_supervised": self_supervised, "supervised": supervised, "R": R}}


def as_mixture(ref: Any, registry: Registry, name: str) -> Any:
    """A mixture reference for a training config: a task name becomes a one-task mixture named ``name``."""
    if isinstance(ref, str) and ref in registry:
        return {"name": name, "tasks": [ref], "strategy": {"kind": "uniform"}}
    return ref


def resolve_tasks(ref: TaskRef, registry: Registry, where: str) -> list[str]:
    """Task names from a list of names/globs or a selector ``{collection, family, tag, pattern}``."""
    from mixlab.samplers import MixtureSpec

    try:
        spec = MixtureSpec(name=where.replace(".", "-"), tasks=ref, strategy={"kind": "uniform"})  # type: ignore[arg-type]
        mix = spec.build(registry)
    except (ConfigError, LookupError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return sorted(mix.tasks)


def start_runs(spec: Any, start: Start | None, seed: int,
               registry: Registry) -> tuple[list[RunSpec], str | None, dict[str, Any]]:
    """The base run (if ``start`` asks for one), its key, and the config fields that start from it."""
    if start is None:
        return [], None, {}
    if start.checkpoint is not None:
        return [], None, {"init_from": str(Path(spec.base) / start.checkpoint)}
    assert start.steps is not None
    key = f"base/s{seed}"
    run = RunSpec(key=key, kind="pretrain", labels={"role": "base", "seed": seed},
                  config=train_config(spec, steps=start.steps, seed=seed,
                                      mixture=as_mixture(start.mixture, registry, "base")))
    return [run], key, {}


def downstream(spec: Any, key: str, parent: str, targets: Sequence[str], *, finetune_steps: int, seed: int,
               labels: Mapping[str, Any], parent_step: int | None = None) -> list[RunSpec]:
    """Score ``parent`` on ``targets``: fine-tune on them first (one multi-task run, examples-proportional,
    ``finetune_steps`` > 0; ExT5 fine-tuned on SuperGLUE's mixture), then evaluate. The eval run's key is
    ``eval/<key>``."""
    runs: list[RunSpec] = []
    scored, step = parent, parent_step
    if finetune_steps:
        scored, step = f"{key}/finetune", finetune_steps
        config = finetune_config(spec, steps=finetune_steps, mixture=proportional("targets", targets), seed=seed)
        runs.append(RunSpec(key=scored, kind="finetune", config=config, parent=parent, parent_step=parent_step,
                            labels={**labels, "role": "finetune"}))
    runs.append(eval_run(spec, f"eval/{key}", scored, targets, step=step, labels=labels))
    return runs


def pretrain_and_score(spec: Any, key: str, mixture: Any, targets: Sequence[str], *, steps: int, seed: int,
                       finetune_steps: int, labels: Mapping[str, Any], **extra: Any) -> list[RunSpec]:
    """A pre-training run ``key`` on ``mixture`` (``extra``: more config fields), then :func:`downstream`
    on ``targets`` from its last checkpoint."""
    run = RunSpec(key=key, kind="pretrain", labels=dict(labels),
                  config=train_config(spec, steps=steps, mixture=mixture, seed=seed, **extra))
    return [run, *downstream(spec, key, key, targets, finetune_steps=finetune_steps, seed=seed, labels=labels)]


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value)."""
    mean = math.fsum(values) / len(values)
    return mean, statistics.stdev(values) if len(values) > 1 else 0.0


def score_columns(scores: Sequence[float], count: str = "num_seeds") -> dict[str, Any]:
    """A summary row's last columns: ``score_mean`` and ``score_std`` (6 places) and ``count`` (how many)."""
    mean, std = mean_std(scores)
    return {"score_mean": round(mean, 6), "score_std": round(std, 6), count: len(scores)}


__all__ = ["FINETUNE_DEFAULTS", "GroupParams", "Params", "Protocol", "Results", "Start", "Summary", "as_mixture",
           "downstream", "eval_run", "finetune_config",
           "mean_std", "merge", "pretrain_and_score", "proportional", "resolve_tasks", "rmix", "score_columns",
           "start_runs", "train_config"]
