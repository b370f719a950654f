"""``Mixture``: a tree of weighted components (tasks and sub-mixtures) flattened to leaf probabilities.

A sub-mixture ``M`` with weight ``w`` gives each of its leaves ``w · M.probability(t)``; a task
listed directly adds its own weight; every listing adds up (seqio's rule across different routes;
seqio keeps the last weight of a name listed twice: docs/mixtures.md). Then divided by the sum.

>>> from mixlab import Task, CallableSource
>>> def make(name, n):
...     return Task(name=name, family="demo", collection="demo", num_examples={"train": n},
...                 source=CallableSource(fn=lambda split: []), formatter=lambda row: row)
>>> a, b, c = make("demo/a", 10), make("demo/b", 30), make("demo/c", 5)
>>> inner = Mixture.from_strategy([a, b], strategies.Proportional(), name="inner")
>>> Mixture.of([(inner, 1.0), (c, 1.0)], name="outer").probabilities
{'demo/a': 0.125, 'demo/b': 0.375, 'demo/c': 0.5}
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from mixlab._checks import is_finite_number
from mixlab.errors import MixtureSpecError
from mixlab.registry.plugins import PluginInfo
from mixlab.registry.task import Task
from mixlab.samplers import strategies
from mixlab.samplers.rmix import Unit, example_ratio
from mixlab.samplers.strategies import Strategy, check_rates, make_strategy

if TYPE_CHECKING:
    from mixlab.stream import MixtureStream

Component: TypeAlias = "Task | Mixture"  # a leaf task or a sub-mixture
MANIFEST_FORMAT = "mixlab.mixture/1"


class Mixture:
    """Leaf tasks with probabilities (summing to 1), plus how they were made.

    Build one with :meth:`of`, :meth:`from_strategy`, :meth:`rmix`, or from a reference (name,
    spec file, spec) with :func:`~mixlab.samplers.resolve_mixture`. Provenance: ``plugin`` is the
    named mixture's plugin, ``spec_file`` the (absolute) spec file it was read from, else ``None``.
    A probability is a share of training examples, except for the self-supervised leaves in
    ``per_document`` (rmix ``unit="documents"``): theirs is a share of documents. ``sampling``: how
    the stream draws documents, once measured (``document_probabilities`` and how they were found:
    :func:`mixlab.samplers.units.per_example`), else ``None`` (it draws with :attr:`probabilities`).
    """

    def __init__(
        self,
        *,
        name: str,
        rates: Mapping[str, float],
        tasks: Mapping[str, Task],
        capped: Mapping[str, float] | None = None,
        description: Mapping[str, Any] | None = None,
        provenance: Mapping[str, PluginInfo] | None = None,
        plugin: PluginInfo | None = None,
        caps: Mapping[str, float | None] | None = None,
        strategies: Mapping[str, Mapping[str, Any]] | None = None,
        spec_file: str | None = None,
        per_document: Iterable[str] = (),
        sampling: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise MixtureSpecError(f"a mixture needs a non-empty name, got {name!r}")
        check_rates(rates, f"mixture {name!r}")
        total = math.fsum(rates.values())
        self.name = name
        self._rates = {t: rates[t] / total for t in sorted(rates) if rates[t] > 0}
        self._tasks = {t: tasks[t] for t in self._rates}
        capped = capped or {}
        self._capped = {t: float(capped.get(t, tasks[t].num_train)) for t in self._rates}
        self._description = dict(description or {"name": name})
        self._provenance = {t: p for t, p in (provenance or {}).items() if t in self._rates}
        self.plugin = plugin
        caps = caps or {}
        self._caps = {t: None if (c := caps.get(t)) is None else float(c) for t in self._rates}
        self._strategies = {k: dict(v) for k, v in (strategies or {}).items()}
        self.spec_file = spec_file
        self.per_document = frozenset(t for t in per_document if t in self._rates)
        self.sampling = None if sampling is None else {**sampling, "document_probabilities": {
            t: float(sampling["document_probabilities"][t]) for t in self._rates}}

    # ----------------------------------------------------------------- constructors
    @classmethod
    def from_strategy(
        cls, tasks: Iterable[Task], strategy: Strategy | Mapping[str, Any], *, name: str
    ) -> Mixture:
        """Leaves ``tasks`` weighted by ``strategy`` (an object from :mod:`strategies` or its dict form)."""
        strategy = make_strategy(strategy)
        where = f"mixture {name!r}"
        chosen = _unique_tasks(tasks, where)
        chosen = _drop_empty(chosen, where)
        rates = check_rates(strategy.rates(chosen), f"{where} ({strategy.kind} strategy)")
        zero = sorted(t for t, r in rates.items() if r == 0)
        if zero:
            warnings.warn(f"{where}: dropping tasks with rate 0 under the {strategy.kind} strategy: {zero}",
                          stacklevel=2)
        description = {"name": name, "tasks": [t.name for t in chosen], "strategy": strategy.to_dict()}
        return cls(name=name, rates=rates, tasks={t.name: t for t in chosen},
                   capped={t.name: strategy.capped_size(t) for t in chosen}, description=description,
                   caps={t.name: strategy.cap for t in chosen}, strategies={name: strategy.to_dict()})

    @classmethod
    def of(cls, components: Iterable[tuple[Component, float]], *, name: str) -> Mixture:
        """Weighted components, each a :class:`Task` or a :class:`Mixture` (seqio-style nesting)."""
        where = f"mixture {name!r}"
        pairs = list(components)
        if not pairs:
            raise MixtureSpecError(f"{where}: no components; give at least one (task or mixture, weight) pair")
        rates: dict[str, float] = {}
        tasks: dict[str, Task] = {}
        capped: dict[str, float] = {}
        caps: dict[str, float | None] = {}
        strategies: dict[str, dict[str, Any]] = {}
        provenance: dict[str, PluginInfo] = {}
        parts: list[dict[str, Any]] = []
        dropped: list[str] = []
        per_document: set[str] = set()
        for position, pair in enumerate(pairs):
            if not isinstance(pair, tuple) or len(pair) != 2:
                raise MixtureSpecError(f"{where}: component {position} is {pair!r:.80}, not a (component, weight) pair")
            component, weight = pair
            label = _label(component, where, position)
            weight = _check_weight(weight, where, label)
            if weight == 0:
                dropped.append(label)
                continue
            if isinstance(component, Task):
                if component.num_train == 0:
                    dropped.append(label)
                    continue
                leaves = {component.name: 1.0}
                _merge_task(tasks, component, where)
                capped.setdefault(component.name, float(component.num_train))
                caps.setdefault(component.name, None)
                parts.append({"task": component.name, "weight": weight})
            else:
                leaves = component.probabilities
                for leaf in leaves:
                    _merge_task(tasks, component.tasks[leaf], where)
                    capped.setdefault(leaf, component._capped[leaf])
                    caps.setdefault(leaf, component._caps[leaf])
                for sub, strategy in component._strategies.items():
                    if strategies.setdefault(sub, strategy) != strategy:
                        raise MixtureSpecError(f"{where}: two sub-mixtures named {sub!r} use different strategies "
                                               f"({strategies[sub]} and {strategy}); give them different names")
                provenance.update(component._provenance)
                per_document |= component.per_document
                parts.append({"mixture": component.description, "weight": weight})
            for leaf, probability in leaves.items():
                rates[leaf] = rates.get(leaf, 0.0) + weight * probability
        if dropped:
            warnings.warn(f"{where}: dropping components with weight 0 or no train examples: {dropped}", stacklevel=2)
        if not rates:
            raise MixtureSpecError(f"{where}: every component has weight 0 or no train examples ({dropped}); "
                                   f"give at least one a positive weight")
        return cls(name=name, rates=rates, tasks=tasks, capped=capped, caps=caps, strategies=strategies,
                   description={"name": name, "components": parts}, provenance=provenance,
                   per_document=per_document)

    @classmethod
    def rmix(
        cls,
        self_supervised: Component,
        supervised: Component,
        R: float,
        *,
        unit: Unit = "examples",
        tokens_per_example: tuple[float, float] | None = None,
        name: str,
    ) -> Mixture:
        """ExT5 R-mixing: ``P(self-supervised) = R / (R + 1)`` of training examples (``unit="examples"``).

        ``unit="documents"`` counts documents before they are cut into examples (a long document
        then yields several); ``unit="tokens"`` counts tokens, converted with
        ``tokens_per_example=(avg_self_supervised, avg_supervised)`` (see :mod:`mixlab.samplers.rmix`).
        ``R = 0`` leaves out the self-supervised side (with a warning).
        """
        ratio = example_ratio(R, unit, tokens_per_example, f"mixture {name!r}")
        mix = cls.of([(self_supervised, ratio), (supervised, 1.0)], name=name)
        spec = {"self_supervised": _describe(self_supervised), "supervised": _describe(supervised),
                "R": R, "unit": unit}
        if tokens_per_example is not None:
            spec["tokens_per_example"] = list(tokens_per_example)
        if unit == "documents":
            side = self_supervised.probabilities if isinstance(self_supervised, Mixture) else {self_supervised.name: 1}
            leaves = mix.tasks
            mix = mix._with(per_document={t for t in side if t in leaves and leaves[t].self_supervised})
        return mix._with(description={"name": name, "rmix": spec})

    def _with(self, **changes: Any) -> Mixture:
        """A copy with some of the constructor's arguments replaced."""
        args: dict[str, Any] = dict(name=self.name, rates=self._rates, tasks=self._tasks, capped=self._capped,
                                    description=self._description, provenance=self._provenance,
                                    plugin=self.plugin, caps=self._caps, strategies=self._strategies,
                                    spec_file=self.spec_file, per_document=self.per_document, sampling=self.sampling)
        args.update(changes)
        return Mixture(**args)

    def with_provenance(self, registry: Any) -> Mixture:
        """A copy recording, for every leaf, the plugin that registered it in ``registry``."""
        found = {}
        for leaf in self._rates:
            if leaf in registry:
                found[leaf] = registry.provenance(leaf)
        return self._with(provenance={**self._provenance, **found})

    # ----------------------------------------------------------------- views
    @property
    def probabilities(self) -> dict[str, float]:
        """Leaf task name -> probability (sums to 1), sorted by name."""
        return dict(self._rates)

    @property
    def rates(self) -> dict[str, float]:
        """Deprecated name of :attr:`probabilities` (the values sum to 1; "rate" means unnormalised)."""
        warnings.warn("Mixture.rates is renamed Mixture.probabilities (the values sum to 1); "
                      "the old name will be removed", DeprecationWarning, stacklevel=2)
        return self.probabilities

    @property
    def tasks(self) -> dict[str, Task]:
        """Leaf task name -> Task, sorted by name."""
        return dict(self._tasks)

    @property
    def families(self) -> dict[str, float]:
        """Family -> total probability of its leaves, sorted by family."""
        totals: dict[str, float] = {}
        for leaf, probability in self._rates.items():
            family = self._tasks[leaf].family
            totals[family] = totals.get(family, 0.0) + probability
        return dict(sorted(totals.items()))

    @property
    def description(self) -> dict[str, Any]:
        """How the mixture was built, in spec form (JSON-compatible)."""
        return json.loads(json.dumps(self._description, default=str))

    @property
    def cap(self) -> float | None:
        """The cap of the strategy that sized the leaves, if they share one (else ``None``, also when uncapped)."""
        found = {c for c in self._caps.values() if c is not None}
        return found.pop() if len(found) == 1 else None

    @property
    def strategies(self) -> dict[str, dict[str, Any]]:
        """Mixture name -> strategy (spec form) of every strategy-built (sub-)mixture in this one."""
        return {k: dict(v) for k, v in self._strategies.items()}

    def __len__(self) -> int:
        return len(self._rates)

    def __repr__(self) -> str:
        return f"Mixture({self.name!r}, {len(self)} tasks)"

    def table(self, total_examples: int | None = None) -> list[dict[str, Any]]:
        """One row per leaf: task, family, num_examples (declared), num_capped (what the strategy
        counts), rate (probability), and with ``total_examples`` the expected examples and epochs."""
        if total_examples is not None and (isinstance(total_examples, bool) or total_examples < 0):
            raise MixtureSpecError(f"total_examples must be >= 0, got {total_examples!r}")
        rows = []
        for leaf, probability in self._rates.items():
            task = self._tasks[leaf]
            expected = None if total_examples is None else probability * total_examples
            rows.append({
                "task": leaf,
                "family": task.family,
                "num_examples": task.num_train,
                "num_capped": self._capped[leaf],
                "rate": probability,
                "expected_examples": expected,
                "epochs": None if expected is None else expected / task.num_train,
            })
        return rows

    def manifest(self) -> dict[str, Any]:
        """Everything a run records about its mixture (JSON-compatible), enough to redraw its rates plot.

        Top level: ``format``, ``name``, ``mixlab_version``, ``plugin`` (the named mixture's
        provenance), ``spec_file`` (the spec file it was read from), ``cap`` (shared cap, or
        ``None``), ``strategy`` (this mixture's own, or ``None`` when it is composed), ``strategies``
        (every strategy-built part, by name), ``families``, ``spec``. Per leaf in ``tasks``:
        ``name``, ``rate`` (probability: share of training examples, or of documents for the
        ``per_document`` leaves listed at the top), ``family``, ``collection``, ``num_examples`` (declared
        train size), ``num_capped`` (the size the strategy counted), ``cap``, ``version``, ``fingerprint``,
        ``plugin``. ``sampling``: :attr:`sampling` (how the stream draws documents), or ``None``.
        """
        import mixlab

        def plugin(info: PluginInfo | None) -> dict[str, str] | None:
            if info is None:
                return None
            return {"distribution": info.distribution, "version": info.version, "entry_point": info.name,
                    "value": info.value}

        return {
            "format": MANIFEST_FORMAT,
            "name": self.name,
            "mixlab_version": mixlab.__version__,
            "plugin": plugin(self.plugin),
            "spec_file": self.spec_file,
            "cap": self.cap,
            "strategy": self._strategies.get(self.name) if "strategy" in self._description else None,
            "strategies": self.strategies,
            "tasks": [
                {"name": leaf, "rate": probability, "family": task.family, "collection": task.collection,
                 "num_examples": task.num_train, "num_capped": self._capped[leaf], "cap": self._caps[leaf],
                 "version": task.version, "fingerprint": task.fingerprint,
                 "plugin": plugin(self._provenance.get(leaf))}
                for leaf, probability in self._rates.items() for task in (self._tasks[leaf],)
            ],
            "families": self.families,
            "per_document": sorted(self.per_document),
            "sampling": self.sampling,
            "spec": self.description,
        }

    def write_manifest(self, path: str | Path) -> Path:
        """Write :meth:`manifest` as JSON to ``path`` (parents created); return the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.manifest(), indent=1, sort_keys=False) + "\n", encoding="utf-8")
        return path

    def stream(
        self,
        seed: int,
        shard: tuple[int, int] = (0, 1),
        exhaustion: Literal["repeat", "first", "all"] = "repeat",
        data: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
        split: str = "train",
        **kwargs: Any,
    ) -> MixtureStream:
        """A seeded, sharded, resumable :class:`~mixlab.stream.MixtureStream` over this mixture's ``split``
        (drawing documents with :attr:`sampling` once measured, else with :attr:`probabilities`)."""
        from mixlab.stream import MixtureStream

        drawn = self if self.sampling is None else self._with(rates=self.sampling["document_probabilities"],
                                                              sampling=None)
        return MixtureStream(drawn, seed=seed, shard=shard, exhaustion=exhaustion, data=data, split=split, **kwargs)


# --------------------------------------------------------------------- helpers
def _label(component: Any, where: str, position: int) -> str:
    if isinstance(component, Task):
        return component.name
    if isinstance(component, Mixture):
        return f"mixture {component.name}"
    raise MixtureSpecError(f"{where}: component {position} is a {type(component).__name__}, "
                           f"not a Task or Mixture")


def _describe(component: Component) -> Any:
    return component.name if isinstance(component, Task) else component.description


def _check_weight(weight: Any, where: str, label: str) -> float:
    if not is_finite_number(weight):
        raise MixtureSpecError(f"{where}: weight of {label!r} is {weight!r}; weights must be finite numbers >= 0")
    return float(weight)


def _merge_task(tasks: dict[str, Task], task: Task, where: str) -> None:
    known = tasks.setdefault(task.name, task)
    if known is not task and known.fingerprint != task.fingerprint:
        raise MixtureSpecError(f"{where}: two different tasks are named {task.name!r} "
                               f"({known.fingerprint} and {task.fingerprint}); use one version")


def _unique_tasks(tasks: Iterable[Task], where: str) -> list[Task]:
    chosen: dict[str, Task] = {}
    for task in tasks:
        if not isinstance(task, Task):
            raise MixtureSpecError(f"{where}: {task!r:.60} is a {type(task).__name__}, not a Task")
        _merge_task(chosen, task, where)
    if not chosen:
        raise MixtureSpecError(f"{where}: no tasks selected; the mixture would be empty")
    return [chosen[name] for name in sorted(chosen)]


def _drop_empty(tasks: list[Task], where: str) -> list[Task]:
    empty = [t.name for t in tasks if t.num_train == 0]
    if empty:
        warnings.warn(f"{where}: dropping tasks with 0 train examples: {empty}", stacklevel=3)
    kept = [t for t in tasks if t.num_train > 0]
    if not kept:
        raise MixtureSpecError(f"{where}: every selected task has 0 train examples ({empty})")
    return kept


__all__ = ["Mixture", "strategies"]
