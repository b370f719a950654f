"""``MixtureSpec``: the plain-data form of a mixture (dict, YAML, TOML or JSON), validated and built.

Exactly one of three shapes:

* ``tasks`` (a selector ``{collection, family, tag, pattern}`` or a list of names/globs) plus a
  ``strategy`` (``{kind: proportional, cap: 300000}``; see :mod:`mixlab.samplers.strategies`);
* ``components``: ``[{task: name, weight: w} | {mixture: name, path or inline spec, weight: w}]``;
* ``rmix``: ``{self_supervised: ..., supervised: ..., R: 2, unit: examples}`` where each side is a
  task name, a named mixture, or an inline spec.

>>> MixtureSpec(name="m", tasks={"collection": "exmix"}, strategy={"kind": "uniform"}).shape
'strategy'
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mixlab._spec import Spec
from mixlab.errors import MixtureSpecError
from mixlab.samplers.strategies import Strategy, make_strategy

if TYPE_CHECKING:
    from mixlab.registry import Registry
    from mixlab.samplers.mixture import Mixture

SPEC_SUFFIXES = (".yaml", ".yml", ".toml", ".json")
_GLOB_CHARS = set("*?[")

_HINTS = {
    "name": "give the mixture a name, e.g. name: my-mix",
    "tasks": "select tasks with {collection: ..., family: ..., tag: ..., pattern: ...} or list task names",
    "strategy": "write e.g. strategy: {kind: proportional, cap: 300000}",
    "components": "list {task: name, weight: w} or {mixture: name, weight: w} items",
    "rmix": "write rmix: {self_supervised: c4/span_corruption, supervised: exmix, R: 2}",
}


def _finite(value: float, what: str) -> float:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{what} must be a finite number >= 0, got {value!r}")
    return value


class _Part(BaseModel):
    """A part of a :class:`MixtureSpec`; its errors are reported by the enclosing spec with their location."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


class TaskSelector(_Part):
    """Tasks of the registry matching every given filter (case-insensitive; ``pattern`` is a glob)."""

    collection: str | None = None
    family: str | None = None
    tag: str | None = None
    pattern: str | None = None

    @model_validator(mode="after")
    def _some_filter(self) -> TaskSelector:
        if all(v is None for v in (self.collection, self.family, self.tag, self.pattern)):
            raise ValueError("a task selector needs at least one of collection, family, tag, pattern")
        return self


class ComponentSpec(_Part):
    """One weighted component: ``task`` (a registered name) or ``mixture`` (name, path or inline spec)."""

    task: str | None = None
    mixture: str | MixtureSpec | None = None
    weight: float = 1.0

    @field_validator("weight")
    @classmethod
    def _check_weight(cls, weight: float) -> float:
        return _finite(weight, "weight")

    @model_validator(mode="after")
    def _one_of(self) -> ComponentSpec:
        if (self.task is None) == (self.mixture is None):
            raise ValueError("a component names exactly one of task or mixture")
        return self


class RMixSpec(_Part):
    """ExT5 R-mixing of a self-supervised side with a supervised side."""

    self_supervised: str | MixtureSpec
    supervised: str | MixtureSpec
    R: float = Field(description="self-supervised : supervised ratio (examples, or tokens with unit=tokens)")
    unit: Literal["examples", "tokens"] = "examples"
    tokens_per_example: tuple[float, float] | None = Field(
        default=None, description="(avg tokens per self-supervised example, per supervised example)")

    @field_validator("R")
    @classmethod
    def _check_ratio(cls, ratio: float) -> float:
        return _finite(ratio, "R")


class MixtureSpec(Spec):
    """A mixture in plain data; :meth:`build` turns it into a :class:`~mixlab.samplers.Mixture`."""

    spec_kind = "mixture spec"
    spec_error = MixtureSpecError
    spec_hints = _HINTS

    name: str = Field(min_length=1)
    description: str = ""
    tasks: TaskSelector | list[str] | None = None
    strategy: dict[str, Any] | None = None
    components: list[ComponentSpec] | None = None
    rmix: RMixSpec | None = None

    @field_validator("strategy", mode="before")
    @classmethod
    def _check_strategy(cls, strategy: Any) -> Any:
        if isinstance(strategy, Strategy):
            return strategy.to_dict()
        if strategy is not None:
            make_strategy(strategy)  # raises MixtureSpecError (a ValueError) naming the parameter
        return strategy

    @model_validator(mode="after")
    def _one_shape(self) -> MixtureSpec:
        shapes = [s for s, on in (("tasks", self.tasks is not None), ("components", self.components is not None),
                                  ("rmix", self.rmix is not None)) if on]
        if len(shapes) != 1:
            raise ValueError(f"give exactly one of tasks (+ strategy), components or rmix; got {shapes or 'none'}")
        if self.tasks is not None and self.strategy is None:
            raise ValueError("tasks need a strategy, e.g. strategy: {kind: proportional, cap: 300000}")
        if self.tasks is None and self.strategy is not None:
            raise ValueError("strategy applies only to tasks; with components or rmix, drop it")
        if isinstance(self.tasks, list) and not self.tasks:
            raise ValueError("tasks is an empty list; name at least one task")
        if self.components is not None and not self.components:
            raise ValueError("components is empty; list at least one {task|mixture, weight}")
        return self

    @property
    def shape(self) -> str:
        """``"strategy"``, ``"components"`` or ``"rmix"``."""
        return "strategy" if self.tasks is not None else "components" if self.components is not None else "rmix"

    # ----------------------------------------------------------------- files
    @classmethod
    def from_file(cls, path: str | Path) -> MixtureSpec:
        """Read a spec from a ``.yaml``/``.yml``, ``.toml`` or ``.json`` file (name defaults to the stem)."""
        path = Path(path)
        data = read_spec_file(path)
        data.setdefault("name", path.stem)
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain JSON-compatible data (unset options left out)."""
        return self.model_dump(mode="json", exclude_none=True, exclude_defaults=True) | {"name": self.name}

    # ----------------------------------------------------------------- building
    def build(self, registry: Registry | None = None) -> Mixture:
        """Resolve tasks and referenced mixtures in ``registry`` (default: installed plugins)."""
        from mixlab.samplers.named import resolve_registry

        return self._build(resolve_registry(registry), ())

    def _build(self, registry: Registry, stack: tuple[str, ...], base: Path | None = None,
               referrer: str | None = None) -> Mixture:
        """Build in ``registry``; ``stack`` holds the references being built (cycle check), ``base`` the
        folder relative spec paths are read from, ``referrer`` what errors call this spec (its file)."""
        from mixlab.samplers.mixture import Mixture

        where = (base, referrer or f"mixture {self.name!r}")

        if self.tasks is not None:
            assert self.strategy is not None
            mix = Mixture.from_strategy(self._select(registry), self.strategy, name=self.name)
        elif self.components is not None:
            parts = []
            for component in self.components:
                if component.task is not None:
                    parts.append((registry.get(component.task), component.weight))
                else:
                    parts.append((_sub_mixture(component.mixture, registry, stack, *where), component.weight))
            mix = Mixture.of(parts, name=self.name)
        else:
            assert self.rmix is not None
            r = self.rmix
            mix = Mixture.rmix(_side(r.self_supervised, registry, stack, *where),
                               _side(r.supervised, registry, stack, *where),
                               r.R, unit=r.unit, tokens_per_example=r.tokens_per_example, name=self.name)
        return mix._with(description=self.to_dict()).with_provenance(registry)

    def _select(self, registry: Registry) -> list:
        if isinstance(self.tasks, TaskSelector):
            sel = self.tasks
            chosen = registry.select(collection=sel.collection, family=sel.family, tag=sel.tag, pattern=sel.pattern)
            if not chosen:
                raise MixtureSpecError(f"mixture {self.name!r}: tasks {sel.model_dump(exclude_none=True)} match "
                                       f"no registered task ({len(registry)} registered; `mixlab tasks` lists them)")
            return chosen
        chosen = []
        for item in self.tasks or []:
            if _GLOB_CHARS & set(item):
                found = registry.select(pattern=item)
                if not found:
                    raise MixtureSpecError(f"mixture {self.name!r}: pattern {item!r} matches no registered task")
                chosen.extend(found)
            else:
                chosen.append(registry.get(item))
        return chosen


def _sub_mixture(ref: str | MixtureSpec | None, registry: Registry, stack: tuple[str, ...], base: Path | None,
                 referrer: str) -> Mixture:
    from mixlab.samplers.named import resolve

    if isinstance(ref, MixtureSpec):  # inline: its own references are relative to the same folder
        return ref._build(registry, stack, base, referrer)
    assert ref is not None
    return resolve(ref, registry, stack, base, referrer)


def _side(ref: str | MixtureSpec, registry: Registry, stack: tuple[str, ...], base: Path | None,
          referrer: str) -> Any:
    """A task if ``ref`` names a registered task, else a mixture (named, path or inline)."""
    if isinstance(ref, str) and ref in registry:
        return registry.get(ref)
    from mixlab.samplers.named import is_known_mixture

    if isinstance(ref, str) and not is_known_mixture(ref, base):
        registry.get(ref)  # neither a task nor a mixture: raise the task error with close matches
    return _sub_mixture(ref, registry, stack, base, referrer)


def read_spec_file(path: Path) -> dict[str, Any]:
    """Parse a YAML, TOML or JSON spec file into a dict."""
    suffix = path.suffix.lower()
    if suffix not in SPEC_SUFFIXES:
        raise MixtureSpecError(f"{path}: unknown spec file type {suffix!r}; use one of {list(SPEC_SUFFIXES)}")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MixtureSpecError(f"{path}: cannot read mixture spec: {exc.strerror or exc}") from exc
    try:
        if suffix == ".toml":
            data = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise MixtureSpecError(f"{path}: not valid {suffix[1:].upper()}: {exc}") from exc
    except Exception as exc:  # yaml.YAMLError has no common base with ValueError
        raise MixtureSpecError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise MixtureSpecError(f"{path}: a mixture spec must be a mapping, got {type(data).__name__}")
    return data


ComponentSpec.model_rebuild()
RMixSpec.model_rebuild()

__all__ = ["ComponentSpec", "MixtureSpec", "RMixSpec", "TaskSelector", "read_spec_file"]
