"""Rate strategies: pure functions of task metadata giving each task an unnormalised rate.

Each strategy is a small frozen object with ``rates(tasks) -> {name: rate}``. Rates are
*unnormalised*; a :class:`~mixlab.samplers.Mixture` divides by their sum. Only the declared
train size (``task.num_train``), the name and the family are read, never data.

>>> from mixlab.samplers.strategies import Proportional
>>> Proportional(cap=300_000).kind
'proportional'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Protocol

from mixlab._checks import is_finite_number, is_number
from mixlab.errors import MixtureSpecError


class TaskLike(Protocol):
    """What a strategy reads from a task."""

    name: str
    family: str

    @property
    def num_train(self) -> int: ...


class Strategy:
    """Base of every rate strategy: ``rates(tasks)`` plus the size a capped strategy counts."""

    kind: ClassVar[str] = ""
    cap: float | None = None

    def rates(self, tasks: Sequence[TaskLike]) -> dict[str, float]:  # pragma: no cover - interface
        raise NotImplementedError

    def capped_size(self, task: TaskLike) -> float:
        """The size the strategy counts for ``task``: ``min(n, cap)`` when it caps, else ``n``."""
        n = float(task.num_train)
        return n if self.cap is None else min(n, float(self.cap))

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": ..., **parameters}``, the form a spec file uses."""
        params = {f.name: getattr(self, f.name) for f in fields(self) if f.init}  # type: ignore[arg-type]
        return {"kind": self.kind, **{k: (dict(v) if isinstance(v, Mapping) else v) for k, v in params.items()}}

    def __call__(self, tasks: Sequence[TaskLike]) -> dict[str, float]:
        return self.rates(tasks)


def _positive(where: str, name: str, value: float | None, *, allow_none: bool, fix: str) -> None:
    if value is None:
        if allow_none:
            return
        raise MixtureSpecError(f"{where}: {name} is required; {fix}")
    if not is_number(value):
        raise MixtureSpecError(f"{where}: {name} must be a number, got {value!r}; {fix}")
    if not is_finite_number(value, positive=True):
        raise MixtureSpecError(f"{where}: {name} must be finite and > 0, got {value!r}; {fix}")


def _cap(where: str, cap: float | None) -> None:
    _positive(where, "cap", cap, allow_none=True,
              fix="give a positive maximum number of examples (e.g. 300000) or leave cap out for no cap "
                  "(0 does not mean 'no cap' in mixlab)")


def check_rates(rates: Mapping[str, float], where: str) -> dict[str, float]:
    """Refuse rates that are not finite, negative, or all zero; return them as a plain dict."""
    if not rates:
        raise MixtureSpecError(f"{where}: no tasks to weight; select at least one task")
    for name, rate in rates.items():
        if not is_finite_number(rate):
            raise MixtureSpecError(f"{where}: rate of {name!r} is {rate!r}; rates must be finite and >= 0")
    if not any(rate > 0 for rate in rates.values()):
        raise MixtureSpecError(f"{where}: every rate is zero; give at least one task a positive weight")
    return {name: float(rate) for name, rate in rates.items()}


@dataclass(frozen=True, kw_only=True)
class Proportional(Strategy):
    """Examples-proportional mixing (T5 / ExMix): ``rate = min(scale·n, cap) ** (1 / temperature)``.

    Order: scale the declared size, then cap, then apply the temperature. ``cap=None`` means no
    cap; ExMix uses ``cap=3e5``. ``cap=0`` is an error (seqio silently read it as "no cap").
    """

    kind: ClassVar[str] = "proportional"
    temperature_fix: ClassVar[str] = "use 1.0 for plain proportional mixing"
    cap: float | None = None
    scale: float = 1.0
    temperature: float = 1.0

    def __post_init__(self) -> None:
        where = f"{self.kind} strategy"
        _cap(where, self.cap)
        _positive(where, "scale", self.scale, allow_none=False, fix="use a positive factor")
        _positive(where, "temperature", self.temperature, allow_none=False, fix=self.temperature_fix)

    def rates(self, tasks: Sequence[TaskLike]) -> dict[str, float]:
        return {t.name: self.capped_size(t) ** (1.0 / self.temperature) for t in tasks}

    def capped_size(self, task: TaskLike) -> float:
        n = self.scale * task.num_train
        return n if self.cap is None else min(n, float(self.cap))


@dataclass(frozen=True, kw_only=True)
class Temperature(Proportional):
    """Temperature sampling (mT5): :class:`Proportional` with ``scale=1`` and a required temperature,
    ``rate = min(n, cap) ** (1 / temperature)``.

    Order: cap (if given), then the power. ``temperature=1`` is proportional, large values
    approach uniform (mT5 used ``1 / temperature = 0.3``). Its spec form keeps its own kind,
    ``{"kind": "temperature", "temperature": t, "cap": ...}``.
    """

    kind: ClassVar[str] = "temperature"
    temperature_fix: ClassVar[str] = "use e.g. temperature: 3.33 (mT5's alpha = 0.3)"
    temperature: float = field()  # required (the base's default would be inherited otherwise)
    scale: float = field(default=1.0, init=False, repr=False)


@dataclass(frozen=True, kw_only=True)
class FamilyUniform(Strategy):
    """Family-uniform (ExT5 §2.1): every family gets total rate ``1 / F``; within a family, tasks
    are examples-proportional: ``rate = (1 / F) · min(n, cap) / Σ_family min(n, cap)``.

    Order: cap each size, sum per family, divide, then split families equally. Uncapped by
    default, so MNLI:ANLI stay about 2.4:1 inside NLI as in the paper.
    """

    kind: ClassVar[str] = "family_uniform"
    cap: float | None = None

    def __post_init__(self) -> None:
        _cap("family_uniform strategy", self.cap)

    def rates(self, tasks: Sequence[TaskLike]) -> dict[str, float]:
        sizes = {t.name: self.capped_size(t) for t in tasks}
        totals: dict[str, float] = {}
        for t in tasks:
            totals[t.family] = totals.get(t.family, 0.0) + sizes[t.name]
        live = [f for f, total in totals.items() if total > 0]
        share = 1.0 / len(live) if live else 0.0
        return {t.name: (share * sizes[t.name] / totals[t.family]) if totals[t.family] > 0 else 0.0 for t in tasks}


@dataclass(frozen=True, kw_only=True)
class Uniform(Strategy):
    """Every task gets rate 1."""

    kind: ClassVar[str] = "uniform"

    def rates(self, tasks: Sequence[TaskLike]) -> dict[str, float]:
        return {t.name: 1.0 for t in tasks}


@dataclass(frozen=True, kw_only=True)
class Explicit(Strategy):
    """Rates given by hand: ``weights[name]`` for every task (each task must be listed)."""

    kind: ClassVar[str] = "explicit"
    weights: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.weights, Mapping) or not self.weights:
            raise MixtureSpecError("explicit strategy: weights must be a non-empty mapping task name -> weight")
        check_rates(self.weights, "explicit strategy weights")
        object.__setattr__(self, "weights", dict(sorted(self.weights.items())))

    def rates(self, tasks: Sequence[TaskLike]) -> dict[str, float]:
        names = {t.name for t in tasks}
        missing = sorted(names - set(self.weights))
        extra = sorted(set(self.weights) - names)
        if missing:
            raise MixtureSpecError(f"explicit strategy: no weight for {missing}; add them to weights")
        if extra:
            raise MixtureSpecError(f"explicit strategy: weights name tasks not in the mixture: {extra}; "
                                   f"remove them or add the tasks")
        return {t.name: float(self.weights[t.name]) for t in tasks}

    def __hash__(self) -> int:
        return hash(tuple(self.weights.items()))


@dataclass(frozen=True, kw_only=True)
class UniMax(Strategy):
    """UniMax (Chung et al. 2023): a uniform budget, capped at ``max_epochs`` epochs per task.

    Order: sort tasks by size ascending (ties by name); walking that order, task ``l`` gets
    ``min(B_remaining / L_remaining, max_epochs · n_l)`` examples, which is then subtracted
    from the budget ``B``. Small tasks hit their epoch cap and leave budget to the larger
    ones. Rates are the allocations (in examples); if ``budget`` exceeds
    ``Σ max_epochs · n`` the surplus cannot be spent and is left over.
    """

    kind: ClassVar[str] = "unimax"
    budget: float
    max_epochs: float = 1.0

    def __post_init__(self) -> None:
        _positive("unimax strategy", "budget", self.budget, allow_none=False,
                  fix="give the total number of training examples (steps x batch size)")
        _positive("unimax strategy", "max_epochs", self.max_epochs, allow_none=False,
                  fix="give the maximum epochs per task, e.g. 1 or 4")

    def rates(self, tasks: Sequence[TaskLike]) -> dict[str, float]:
        remaining = float(self.budget)
        allocation: dict[str, float] = {}
        ordered = sorted(tasks, key=lambda t: (t.num_train, t.name))
        for left, t in zip(range(len(ordered), 0, -1), ordered, strict=True):
            give = min(remaining / left, self.max_epochs * t.num_train)
            allocation[t.name] = give
            remaining -= give
        return {t.name: allocation[t.name] for t in tasks}

KINDS: dict[str, type[Strategy]] = {
    cls.kind: cls for cls in (Proportional, FamilyUniform, Uniform, Temperature, Explicit, UniMax)
}


def parameters(cls: type[Strategy]) -> list[str]:
    """The parameters strategy class ``cls`` takes (its spec keys besides ``kind``), sorted."""
    return sorted(f.name for f in fields(cls) if f.init)  # type: ignore[arg-type]


def make_strategy(spec: Strategy | Mapping[str, Any]) -> Strategy:
    """A strategy from ``{"kind": ..., **parameters}`` (or a strategy, returned as is)."""
    if isinstance(spec, Strategy):
        return spec
    if not isinstance(spec, Mapping) or "kind" not in spec:
        raise MixtureSpecError(f"strategy must be a mapping with a 'kind' (one of {sorted(KINDS)}), got {spec!r:.80}")
    params = dict(spec)
    kind = params.pop("kind")
    cls = KINDS.get(kind)
    if cls is None:
        raise MixtureSpecError(f"unknown strategy kind {kind!r}; choose one of {sorted(KINDS)}")
    allowed = set(parameters(cls))
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise MixtureSpecError(f"{kind} strategy: unknown parameter(s) {unknown}; allowed: {sorted(allowed)}")
    try:
        return cls(**params)
    except TypeError as exc:
        raise MixtureSpecError(f"{kind} strategy: {exc}; allowed parameters: {sorted(allowed)}") from None


__all__ = [
    "KINDS",
    "Explicit",
    "FamilyUniform",
    "Proportional",
    "Strategy",
    "Temperature",
    "UniMax",
    "Uniform",
    "check_rates",
    "make_strategy",
    "parameters",
]
