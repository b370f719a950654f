"""One way from a mixture reference to a :class:`~mixlab.samplers.Mixture`: :func:`resolve_mixture`.

```
name ──load_named_spec──┐
path ──from_file────────┼──▶ MixtureSpec ──overrides (R, cap)──▶ build ──▶ Mixture (+ provenance)
dict / MixtureSpec ─────┘                    each task, named mixture, path or inline spec it
Mixture ──────────────────────────────────▶  names is resolved the same way (cycles refused)
```

A relative path is read from the folder of the spec file that names it; in a named mixture's
spec, an inline spec or the reference itself, from ``base`` (default: the current directory).
The result records where it came from: ``mix.plugin`` for a named mixture and ``mix.spec_file``
for a file, also in its manifest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mixlab._checks import is_finite_number
from mixlab.errors import ConfigError, MixtureSpecError, TaskNotFoundError
from mixlab.registry import Registry
from mixlab.registry.task import Task
from mixlab.samplers.mixture import Mixture
from mixlab.samplers.mixture_schedule import scheduled_mixture
from mixlab.samplers.named import list_mixtures, load_named_spec
from mixlab.samplers.spec import MixtureSpec, TaskSelector, spec_path
from mixlab.samplers.strategies import KINDS, parameters

MixtureRef = str | Path | Mapping[str, Any] | MixtureSpec | Mixture
_GLOB_CHARS = set("*?[")
_CAPPED_KINDS = sorted(kind for kind, cls in KINDS.items() if "cap" in parameters(cls))


def resolve_mixture(ref: MixtureRef, *, registry: Registry | None = None, R: float | None = None,
                    cap: float | None = None, base: str | Path | None = None) -> Mixture:
    """The mixture ``ref`` names, with overrides applied and its provenance recorded.

    ``ref`` is an installed mixture's name, a spec file path (anything that is a file or ends in
    .yaml/.yml/.toml/.json; relative to ``base``, default the current directory), an inline spec
    (a dict or :class:`MixtureSpec`) or a :class:`Mixture` (returned as is). Tasks are looked up
    in ``registry`` (default: every installed task plugin). ``R`` replaces the ratio of an rmix
    mixture; ``cap`` replaces the cap of every strategy in the mixture that takes one. A wrong
    override raises :class:`~mixlab.ConfigError`, a wrong spec :class:`~mixlab.MixtureSpecError`,
    an unknown name :class:`~mixlab.TaskNotFoundError` (with close matches).
    """
    if isinstance(ref, Mixture):
        if R is not None or cap is not None:
            raise ConfigError(f"R or cap is set but mixture {ref.name!r} is already built; fix: pass its name, "
                              f"spec file or MixtureSpec to resolve_mixture so the override can be applied")
        return ref
    _check_overrides(R, cap)
    run = _Resolution(default_registry(registry), cap)
    folder = None if base is None else Path(base)
    if isinstance(ref, str | Path):
        mix = run.reference(str(ref), (), folder, None, R)
    elif isinstance(ref, MixtureSpec):
        mix = run.spec(ref, (), folder, None, R)
    elif isinstance(ref, Mapping):
        mix = run.spec(MixtureSpec(**ref), (), folder, None, R)
    else:
        raise TypeError(f"a mixture reference is a name, spec file path, spec dict, MixtureSpec or Mixture; "
                        f"got {type(ref).__name__}")
    if cap is not None and not run.num_capped:
        kinds = sorted({s.get("kind", "?") for s in mix.strategies.values()})
        raise ConfigError(f"cap={cap} is set but mixture {mix.name!r} has no strategy that takes a cap (it uses "
                          f"{kinds or 'none'}); fix: remove cap, or use a strategy of kind {_CAPPED_KINDS}")
    return mix


def get_mixture(name_or_path: str | Path, registry: Registry | None = None) -> Mixture:
    """The mixture named ``name_or_path`` (an installed plugin) or read from a spec file:
    :func:`resolve_mixture` without overrides."""
    return resolve_mixture(name_or_path, registry=registry)


def default_registry(registry: Registry | None) -> Registry:
    """``registry``, or every installed task plugin if it is ``None``."""
    if registry is not None:
        return registry
    from mixlab.registry import load_registry

    return load_registry()


def is_known_mixture(ref: str, base: Path | None = None) -> bool:
    """Whether ``ref`` is an installed mixture name or looks like a spec file path (relative to ``base``)."""
    return spec_path(ref, base) is not None or ref in list_mixtures()


def resolve_reference(ref: str, registry: Registry, stack: tuple[str, ...] = (), base: Path | None = None,
                      referrer: str | None = None) -> Mixture:
    """What ``mixlab.samplers.named.resolve`` did (deprecated there): build the name or path ``ref``."""
    return _Resolution(registry).reference(ref, stack, base, referrer)


def _check_overrides(R: float | None, cap: float | None) -> None:
    if R is not None and not is_finite_number(R):
        raise ConfigError(f"R={R!r} must be a finite number >= 0 (self-supervised examples per supervised one; "
                          f"ExT5 used 2); fix: give such a number or leave R out")
    if cap is not None and not is_finite_number(cap, positive=True):
        raise ConfigError(f"cap={cap!r} must be a finite number > 0 (examples per task; ExMix used 300000); "
                          f"fix: give such a number or leave cap out")


@dataclass
class _Resolution:
    """One call of :func:`resolve_mixture`: the registry, the cap override and how often it applied.

    ``stack`` (the references being built, for the cycle check), ``base`` (the folder relative
    paths are read from) and ``referrer`` (what errors call the spec being built) are passed down.
    """

    registry: Registry
    cap: float | None = None
    num_capped: int = 0

    def reference(self, ref: str, stack: tuple[str, ...], base: Path | None, referrer: str | None,
                  R: float | None = None) -> Mixture:
        """A named mixture or a spec file path."""
        path = spec_path(ref, base)
        if path is None:
            _check_cycle(ref, stack)
            try:
                spec, info = load_named_spec(ref)
            except TaskNotFoundError as exc:
                if referrer is None:
                    raise
                raise TaskNotFoundError(f"{referrer} references {exc}") from None
            return self.build(spec, (*stack, ref), None, f"mixture plugin {ref!r}", R)._with(plugin=info)
        if referrer is not None and not path.is_file():
            if Path(ref).is_absolute():
                where = "an absolute path"
            elif base is not None:
                where = f"relative to {base}, the folder of {referrer}"
            else:
                where = "relative to the current directory"
            raise MixtureSpecError(f"{referrer} references mixture spec file {ref!r}, but {path} does not exist "
                                   f"({where}); fix the path in {referrer}")
        return self.spec(MixtureSpec.from_file(path), stack, base, referrer, R)

    def spec(self, spec: MixtureSpec, stack: tuple[str, ...], base: Path | None, referrer: str | None,
             R: float | None = None) -> Mixture:
        """A spec; one read from a file is built from that file's folder and recorded as its source."""
        if spec.path is None:
            return self.build(spec, stack, base, referrer, R)
        key = str(spec.path.resolve())
        _check_cycle(key, stack)
        return self.build(spec, (*stack, key), spec.path.parent, str(spec.path), R)._with(spec_file=key)

    def build(self, spec: MixtureSpec, stack: tuple[str, ...], base: Path | None, referrer: str | None,
              R: float | None = None) -> Mixture:
        """Build ``spec``'s shape, resolving every reference in it."""
        where = referrer or f"mixture {spec.name!r}"
        spec = self._override(spec, R)
        if spec.tasks is not None:
            assert spec.strategy is not None
            mix = Mixture.from_strategy(_select(spec, self.registry), spec.strategy, name=spec.name)
        elif spec.components is not None:
            parts: list[tuple[Task | Mixture, float]] = []
            for component in spec.components:
                if component.task is not None:
                    parts.append((self.registry.get(component.task), component.weight))
                else:
                    assert component.mixture is not None
                    parts.append((self._sub(component.mixture, stack, base, where), component.weight))
            mix = Mixture.of(parts, name=spec.name)
        elif spec.schedule is not None:  # the description records the stages with their resolved weights
            stages = [(st.step, st.ramp, st.every, self._sub(st.mixture, stack, base, where)) for st in spec.schedule]
            return scheduled_mixture(spec.name, stages).with_provenance(self.registry)
        else:
            assert spec.rmix is not None
            r = spec.rmix
            mix = Mixture.rmix(self._side(r.self_supervised, stack, base, where),
                               self._side(r.supervised, stack, base, where),
                               r.R, unit=r.unit, tokens_per_example=r.tokens_per_example, name=spec.name)
        return mix._with(description=spec.to_dict()).with_provenance(self.registry)

    def _override(self, spec: MixtureSpec, R: float | None) -> MixtureSpec:
        """``spec`` with ``R`` (this spec only) and the cap override (every strategy taking one) applied."""
        if R is not None:
            if spec.rmix is None:
                raise ConfigError(f"R={R} is set but mixture {spec.name!r} is not an rmix mixture (it has no 'rmix' "
                                  "section); fix: remove R or use an rmix mixture such as 'wordnet-ext5'")
            spec = spec.model_copy(update={"rmix": spec.rmix.model_copy(update={"R": float(R)})})
        if self.cap is not None and spec.strategy is not None and spec.strategy["kind"] in _CAPPED_KINDS:
            self.num_capped += 1
            spec = spec.model_copy(update={"strategy": {**spec.strategy, "cap": self.cap}})
        return spec

    def _sub(self, ref: str | MixtureSpec, stack: tuple[str, ...], base: Path | None, referrer: str) -> Mixture:
        if isinstance(ref, MixtureSpec):  # inline: its own references are relative to the same folder
            mix = self.spec(ref, stack, base, referrer)
        else:
            mix = self.reference(ref, stack, base, referrer)
        if "schedule" in mix.description:  # its weights change over steps: a part of another mixture cannot follow
            raise MixtureSpecError(f"{referrer} uses mixture {mix.name!r}, whose weights follow a schedule; a "
                                   f"scheduled mixture can only be used on its own (its stages change over training "
                                   f"steps); fix: use one of its stages' mixtures, or schedule the outer mixture")
        return mix

    def _side(self, ref: str | MixtureSpec, stack: tuple[str, ...], base: Path | None,
              referrer: str) -> Task | Mixture:
        """A task if ``ref`` names a registered task, else a mixture (named, path or inline)."""
        if isinstance(ref, str) and ref in self.registry:
            return self.registry.get(ref)
        if isinstance(ref, str) and not is_known_mixture(ref, base):
            self.registry.get(ref)  # neither a task nor a mixture: raise the task error with close matches
        return self._sub(ref, stack, base, referrer)


def _check_cycle(key: str, stack: tuple[str, ...]) -> None:
    if key in stack:
        chain = " -> ".join([*stack, key])
        raise MixtureSpecError(f"mixture reference cycle: {chain}; remove one of these references")


def _select(spec: MixtureSpec, registry: Registry) -> list[Task]:
    """The tasks ``spec.tasks`` selects in ``registry`` (a selector, or names and globs)."""
    if isinstance(spec.tasks, TaskSelector):
        sel = spec.tasks
        chosen = registry.select(collection=sel.collection, family=sel.family, tag=sel.tag, pattern=sel.pattern)
        if not chosen:
            raise MixtureSpecError(f"mixture {spec.name!r}: tasks {sel.model_dump(exclude_none=True)} match "
                                   f"no registered task ({len(registry)} registered; `mixlab tasks` lists them)")
        return chosen
    tasks: list[Task] = []
    for item in spec.tasks or []:
        if _GLOB_CHARS & set(item):
            found = registry.select(pattern=item)
            if not found:
                raise MixtureSpecError(f"mixture {spec.name!r}: pattern {item!r} matches no registered task")
            tasks.extend(found)
        else:
            tasks.append(registry.get(item))
    return tasks


__all__ = ["MixtureRef", "default_registry", "get_mixture", "is_known_mixture", "resolve_mixture"]
