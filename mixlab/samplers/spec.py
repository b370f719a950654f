"""``MixtureSpec``: the plain-data form of a mixture (dict, YAML, TOML or JSON), validated.

A spec is data only: :func:`mixlab.samplers.resolve_mixture` builds it (``MixtureSpec.build`` is
a shortcut). A spec read by :meth:`MixtureSpec.from_file` remembers its file, so the relative
paths it names are read from that file's folder wherever it is built.

Exactly one of three shapes:

* ``tasks`` (a selector ``{collection, family, tag, pattern}`` or a list of names/globs) plus a
  ``strategy`` (``{kind: proportional, cap: 300000}``; see :mod:`mixlab.samplers.strategies`);
* ``components``: ``[{task: name, weight: w} | {mixture: name, path or inline spec, weight: w}]``;
* ``rmix``: ``{self_supervised: ..., supervised: ..., R: 2, unit: examples}`` where each side is a
  task name, a named mixture, or an inline spec;
* ``schedule``: ``[{step: 0, mixture: ...}, {step: 1000, mixture: ..., ramp: linear, every: 50}]``,
  weights that change over training steps (see :mod:`mixlab.samplers.mixture_schedule`).

>>> MixtureSpec(name="m", tasks={"collection": "exmix"}, strategy={"kind": "uniform"}).shape
'strategy'
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from mixlab._checks import is_finite_number
from mixlab._loaders import load_json, load_yaml
from mixlab._spec import Spec
from mixlab.errors import MixtureSpecError
from mixlab.samplers.strategies import Strategy, make_strategy

if TYPE_CHECKING:
    from mixlab.registry import Registry
    from mixlab.samplers.mixture import Mixture

SPEC_SUFFIXES = (".yaml", ".yml", ".toml", ".json")

_HINTS = {
    "name": "give the mixture a name, e.g. name: my-mix",
    "tasks": "select tasks with {collection: ..., family: ..., tag: ..., pattern: ...} or list task names",
    "strategy": "write e.g. strategy: {kind: proportional, cap: 300000}",
    "components": "list {task: name, weight: w} or {mixture: name, weight: w} items",
    "rmix": "write rmix: {self_supervised: c4/span_corruption, supervised: exmix, R: 2}",
    "schedule": "list stages: [{step: 0, mixture: a}, {step: 1000, mixture: b, ramp: linear, every: 50}]",
}


def _finite(value: float, what: str) -> float:
    if not is_finite_number(value):
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
    R: float = Field(description="self-supervised : supervised ratio of training examples (after a document is "
                                 "cut into pieces, as seqio), of documents (unit=documents) or of tokens")
    unit: Literal["examples", "documents", "tokens"] = "examples"
    tokens_per_example: tuple[float, float] | None = Field(
        default=None, description="(avg tokens per self-supervised example, per supervised example)")

    @field_validator("R")
    @classmethod
    def _check_ratio(cls, ratio: float) -> float:
        return _finite(ratio, "R")


class StageSpec(_Part):
    """A stage of a scheduled mixture: ``mixture``'s weights from ``step`` on; with ``ramp: linear`` they are
    reached by a straight line from the previous stage's, updated every ``every`` steps."""

    step: int = Field(ge=0)
    mixture: str | MixtureSpec
    ramp: Literal["step", "linear"] = "step"
    every: int | None = Field(default=None, gt=0, description="steps between updates of a linear ramp")

    @model_validator(mode="after")
    def _every_needs_a_ramp(self) -> StageSpec:
        if self.every is not None and self.ramp != "linear":
            raise ValueError(f"every={self.every} does nothing with ramp 'step' (the weights jump at step "
                             f"{self.step}); fix: remove every, or set ramp: linear")
        return self


class MixtureSpec(Spec):
    """A mixture in plain data; :meth:`build` turns it into a :class:`~mixlab.samplers.Mixture`.

    ``path`` is the file it was read from (``None`` for an inline spec).
    """

    spec_kind = "mixture spec"
    spec_error = MixtureSpecError
    spec_hints = _HINTS

    name: str = Field(min_length=1)
    description: str = ""
    tasks: TaskSelector | list[str] | None = None
    strategy: dict[str, Any] | None = None
    components: list[ComponentSpec] | None = None
    rmix: RMixSpec | None = None
    schedule: list[StageSpec] | None = None
    _path: Path | None = PrivateAttr(default=None)

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
                                  ("rmix", self.rmix is not None), ("schedule", self.schedule is not None)) if on]
        if len(shapes) != 1:
            raise ValueError(f"give exactly one of tasks (+ strategy), components, rmix or schedule; got "
                             f"{shapes or 'none'}")
        if self.schedule is not None:
            _check_stages(self.schedule)
        if self.tasks is not None and self.strategy is None:
            raise ValueError("tasks need a strategy, e.g. strategy: {kind: proportional, cap: 300000}")
        if self.tasks is None and self.strategy is not None:
            raise ValueError("strategy applies only to tasks; with components, rmix or schedule, drop it")
        if isinstance(self.tasks, list) and not self.tasks:
            raise ValueError("tasks is an empty list; name at least one task")
        if self.components is not None and not self.components:
            raise ValueError("components is empty; list at least one {task|mixture, weight}")
        return self

    @property
    def shape(self) -> str:
        """``"strategy"``, ``"components"``, ``"rmix"`` or ``"schedule"``."""
        if self.schedule is not None:
            return "schedule"
        return "strategy" if self.tasks is not None else "components" if self.components is not None else "rmix"

    @property
    def path(self) -> Path | None:
        """The file this spec was read from (its relative references are read from its folder), or ``None``."""
        return self._path

    # ----------------------------------------------------------------- files
    @classmethod
    def from_file(cls, path: str | Path) -> MixtureSpec:
        """Read a spec from a ``.yaml``/``.yml``, ``.toml`` or ``.json`` file (name defaults to the stem)."""
        path = Path(path)
        data = read_spec_file(path)
        data.setdefault("name", path.stem)
        spec = cls(**data)
        spec._path = path
        return spec

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain JSON-compatible data (unset options left out)."""
        return self.model_dump(mode="json", exclude_none=True, exclude_defaults=True) | {"name": self.name}

    def build(self, registry: Registry | None = None, *, R: float | None = None,
              cap: float | None = None) -> Mixture:
        """The mixture, tasks looked up in ``registry`` (default: installed plugins); the same as
        :func:`~mixlab.samplers.resolve_mixture` ``(self, registry=registry, R=R, cap=cap)``."""
        # The package's public resolver (as a user would call it): the package is loaded before any of its
        # modules, and the resolver module imports this one, so this module names no resolver module itself.
        from mixlab.samplers import resolve_mixture

        return resolve_mixture(self, registry=registry, R=R, cap=cap)


def _check_stages(stages: list[StageSpec]) -> None:
    if not stages:
        raise ValueError("schedule is empty; list at least one stage {step: 0, mixture: ...}")
    if stages[0].step != 0 or stages[0].ramp != "step":
        raise ValueError(f"a schedule's first stage holds from step 0 and cannot ramp (got step {stages[0].step}, "
                         f"ramp {stages[0].ramp!r}); fix: start with {{step: 0, mixture: ...}}")
    steps = [stage.step for stage in stages]
    if steps != sorted(set(steps)):
        raise ValueError(f"schedule stages must have strictly increasing steps, got {steps}; fix: sort them")


def spec_path(ref: str, base: Path | None = None) -> Path | None:
    """Where the spec file ``ref`` is (relative paths joined to ``base``), or ``None`` if ``ref`` is a name.

    A path is anything that is a file or ends in .yaml/.yml/.toml/.json.
    """
    path = Path(ref).expanduser()
    if base is not None and not path.is_absolute():
        path = base / path
    return path if ref.lower().endswith(SPEC_SUFFIXES) or path.is_file() else None


def absolute_references(spec: Any, folder: Path) -> Any:
    """A copy of the inline spec ``spec`` (a dict) whose relative spec-file references (``mixture``,
    ``self_supervised``, ``supervised``, nested inline specs included) that exist under ``folder`` are
    made absolute: for an inline spec inside a file, which names files relative to that file's folder.

    >>> absolute_references({"name": "m", "components": [{"mixture": "no-such.yaml"}]}, Path("/tmp"))
    {'name': 'm', 'components': [{'mixture': 'no-such.yaml'}]}
    """
    if isinstance(spec, list):
        return [absolute_references(item, folder) for item in spec]
    if not isinstance(spec, dict):
        return spec
    out = {}
    for key, value in spec.items():
        if key in _REFERENCE_KEYS and isinstance(value, str) and not Path(value).expanduser().is_absolute():
            found = spec_path(value, folder)
            value = str(found) if found is not None and found.is_file() else value
        out[key] = absolute_references(value, folder)
    return out


_REFERENCE_KEYS = ("mixture", "self_supervised", "supervised")


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
            data = load_json(text)
        else:
            data = load_yaml(text)  # refuses a key written twice (PyYAML would keep the last)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise MixtureSpecError(f"{path}: not valid {suffix[1:].upper()}: {exc}") from exc
    except Exception as exc:  # yaml.YAMLError has no common base with ValueError
        raise MixtureSpecError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise MixtureSpecError(f"{path}: a mixture spec must be a mapping, got {type(data).__name__}")
    return data


ComponentSpec.model_rebuild()
RMixSpec.model_rebuild()
StageSpec.model_rebuild()

__all__ = [
    "SPEC_SUFFIXES",
    "ComponentSpec",
    "MixtureSpec",
    "RMixSpec",
    "StageSpec",
    "TaskSelector",
    "absolute_references",
    "read_spec_file",
    "spec_path",
]
