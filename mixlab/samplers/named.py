"""Named mixtures: discovery of entry-point plugins (group ``mixlab.mixtures``).

The entry point's name is the mixture's name; its value is a function decorated with
:func:`mixture_plugin` returning a spec dict (or a :class:`MixtureSpec`). Listing reads
entry-point metadata only; :func:`load_named_spec` imports just the plugin it is asked for.
Building is :func:`mixlab.samplers.resolve_mixture`'s job.
"""

from __future__ import annotations

import difflib
import importlib
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from mixlab.errors import MixtureSpecError, PluginError, TaskNotFoundError
from mixlab.registry import plugins
from mixlab.registry.plugins import MIXTURES_GROUP, PLUGIN_API_VERSION, PluginInfo
from mixlab.samplers.spec import SPEC_SUFFIXES, MixtureSpec

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


# Names that lived here before resolution moved to mixlab.samplers.resolve: old name -> (module, new name).
_MOVED = {
    "get_mixture": ("mixlab.samplers.resolve", "get_mixture"),
    "is_known_mixture": ("mixlab.samplers.resolve", "is_known_mixture"),
    "resolve": ("mixlab.samplers.resolve", "resolve_reference"),
    "resolve_registry": ("mixlab.samplers.resolve", "default_registry"),
    "spec_path": ("mixlab.samplers.spec", "spec_path"),
}


def __getattr__(name: str) -> Any:
    """Deprecated aliases for the names that moved out of this module (imported on first use)."""
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, new = _MOVED[name]
    warnings.warn(f"mixlab.samplers.named.{name} is deprecated; use {module}.{new} "
                  f"(mixture resolution lives in mixlab.samplers.resolve)", DeprecationWarning, stacklevel=2)
    return getattr(importlib.import_module(module), new)


__all__ = ["list_mixtures", "load_named_spec", "mixture_entry_points", "mixture_plugin"]
