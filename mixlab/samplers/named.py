"""Named mixtures from entry-point plugins (group ``mixlab.mixtures``) and spec files.

The entry point's name is the mixture's name; its value is a function decorated with
:func:`mixture_plugin` returning a spec dict (or a :class:`MixtureSpec`). Listing reads
entry-point metadata only; :func:`get_mixture` imports just the plugin it needs.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from mixlab.errors import MixtureSpecError, PluginError, TaskNotFoundError
from mixlab.registry import plugins
from mixlab.registry.plugins import MIXTURES_GROUP, PLUGIN_API_VERSION, PluginInfo
from mixlab.samplers.spec import SPEC_SUFFIXES, MixtureSpec

if TYPE_CHECKING:
    from mixlab.registry import Registry
    from mixlab.samplers.mixture import Mixture

F = TypeVar("F", bound=Callable[..., Any])


def mixture_plugin(api: int = PLUGIN_API_VERSION) -> Callable[[F], F]:
    """Mark a function returning a mixture spec dict as a mixlab mixture plugin for plugin API ``api``."""
    return plugins.task_plugin(api)  # the same mark: the entry point group tells tasks from mixtures


def mixture_entry_points() -> list[PluginInfo]:
    """Every installed named mixture with its distribution, sorted by name; nothing is imported."""
    return [info for info, _ in plugins.discover(MIXTURES_GROUP)]


def list_mixtures() -> list[str]:
    """Names of the installed named mixtures, sorted (plugins are not imported)."""
    return sorted({info.name for info in mixture_entry_points()})


def is_known_mixture(ref: str, base: Path | None = None) -> bool:
    """Whether ``ref`` is an installed mixture name or looks like a spec file path (relative to ``base``)."""
    return spec_path(ref, base) is not None or ref in list_mixtures()


def get_mixture(name_or_path: str | Path, registry: Registry | None = None) -> Mixture:
    """The mixture named ``name_or_path`` (an installed plugin) or read from a spec file.

    A path is anything that exists on disk or ends in .yaml/.yml/.toml/.json. Tasks are
    looked up in ``registry`` (default: all installed task plugins). A spec file's own
    references to other spec files are relative to the folder of the file naming them.
    """
    return resolve(str(name_or_path), resolve_registry(registry), ())


def resolve_registry(registry: Registry | None) -> Registry:
    if registry is not None:
        return registry
    from mixlab.registry import load_registry

    return load_registry()


def resolve(ref: str, registry: Registry, stack: tuple[str, ...], base: Path | None = None,
            referrer: str | None = None) -> Mixture:
    """Build the mixture ``ref`` (name or path), refusing reference cycles.

    ``base`` is the folder a relative path is read from (the folder of the spec file naming
    ``ref``; ``None``: the current directory); ``referrer`` names that file in errors.
    """
    path = spec_path(ref, base)
    key = str(path.resolve()) if path is not None else ref
    if key in stack:
        chain = " -> ".join([*stack, key])
        raise MixtureSpecError(f"mixture reference cycle: {chain}; remove one of these references")
    if path is None:
        try:
            spec, info = load_named_spec(ref)
        except TaskNotFoundError as exc:
            if referrer is None:
                raise
            raise TaskNotFoundError(f"{referrer} references {exc}") from None
        return spec._build(registry, (*stack, key), referrer=f"mixture plugin {ref!r}")._with(plugin=info)
    if referrer is not None and not path.is_file():
        where = f"relative to {base}, the folder of {referrer}" if base is not None and not Path(ref).is_absolute() \
            else "an absolute path" if Path(ref).is_absolute() else "relative to the current directory"
        raise MixtureSpecError(f"{referrer} references mixture spec file {ref!r}, but {path} does not exist "
                               f"({where}); fix the path in {referrer}")
    return MixtureSpec.from_file(path)._build(registry, (*stack, key), base=path.parent, referrer=str(path))


def spec_path(ref: str, base: Path | None = None) -> Path | None:
    """Where the spec file ``ref`` is (relative paths joined to ``base``), or ``None`` if ``ref`` is a name."""
    path = Path(ref).expanduser()
    if base is not None and not path.is_absolute():
        path = base / path
    return path if ref.lower().endswith(SPEC_SUFFIXES) or path.is_file() else None


def load_named_spec(name: str) -> tuple[MixtureSpec, PluginInfo]:
    """Import only the plugin providing mixture ``name`` and validate what it returns."""
    found = [(info, ep) for info, ep in plugins.discover(MIXTURES_GROUP) if info.name == name]
    if not found:
        names = list_mixtures()
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise TaskNotFoundError(f"no mixture named {name!r}{hint} (installed: {names or 'none'}; "
                                f"a spec file path must exist or end in {'/'.join(SPEC_SUFFIXES)})")
    if len(found) > 1:
        who = " and ".join(f"{i.distribution} {i.version}" for i, _ in found)
        raise PluginError(f"mixture {name!r} is provided by {who}; uninstall one")
    info, ep = found[0]
    where = f"mixture plugin {name!r} ({info.distribution} {info.version}, {info.value})"
    try:
        provided = plugins.call_plugin(plugins.load_plugin(ep, kind="mixture"), "a mixture")
    except PluginError as exc:
        raise PluginError(f"{where}: {exc}") from exc.__cause__
    if isinstance(provided, MixtureSpec):
        spec = provided
    elif isinstance(provided, dict):
        data = dict(provided)
        data.setdefault("name", name)
        try:
            spec = MixtureSpec(**data)
        except MixtureSpecError as exc:  # name the plugin whose spec is wrong
            raise MixtureSpecError(f"{where}: {exc}") from None
    else:
        raise PluginError(f"{where}: returned {type(provided).__name__}, not a mixture spec dict")
    if spec.name != name:
        raise PluginError(f"{where}: returns a spec named {spec.name!r}; the entry point name is the mixture "
                          f"name, so rename one to match")
    return spec, info


__all__ = ["get_mixture", "is_known_mixture", "list_mixtures", "load_named_spec", "mixture_entry_points",
           "mixture_plugin", "resolve", "spec_path"]
