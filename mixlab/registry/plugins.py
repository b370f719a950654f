"""Entry-point plugins: discovery without import, and loading with recorded failures.

A task plugin is an entry point in group ``mixlab.tasks`` that names either

* a callable decorated with :func:`task_plugin` returning an iterable of :class:`Task`, or
* a module defining ``MIXLAB_PLUGIN_API`` and a ``tasks()`` function (or a ``TASKS`` list).

The plugin declares the plugin API version it targets; mixlab refuses versions it does
not know instead of guessing.
"""

from __future__ import annotations

import importlib.metadata as md
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from mixlab.errors import PluginError

PLUGIN_API_VERSION = 1
SUPPORTED_API_VERSIONS = frozenset({1})
TASKS_GROUP = "mixlab.tasks"
MIXTURES_GROUP = "mixlab.mixtures"

F = TypeVar("F", bound=Callable[..., Any])


def task_plugin(api: int = PLUGIN_API_VERSION) -> Callable[[F], F]:
    """Mark a function as a mixlab task plugin targeting plugin API ``api``."""

    def mark(fn: F) -> F:
        fn.__mixlab_plugin_api__ = api  # type: ignore[attr-defined]
        return fn

    return mark


@dataclass(frozen=True, kw_only=True)
class PluginInfo:
    """Where something came from: the entry point and the distribution that declared it."""

    name: str
    value: str
    group: str
    distribution: str
    version: str

    def __str__(self) -> str:
        return f"{self.name} = {self.value} (from {self.distribution} {self.version})"


@dataclass(frozen=True, kw_only=True)
class LoadError:
    """A plugin that could not be loaded, kept so that the registry can report it."""

    plugin: PluginInfo
    error: BaseException

    def __str__(self) -> str:
        p = self.plugin
        message = " ".join(str(self.error).split())  # one line, whatever the error's layout
        return f"plugin {p.name!r} ({p.distribution} {p.version}, {p.value}): {type(self.error).__name__}: {message}"


def discover(group: str) -> list[tuple[PluginInfo, md.EntryPoint]]:
    """Entry points of ``group``, sorted by name, with provenance; nothing is imported."""
    found = []
    for ep in md.entry_points(group=group):
        dist = ep.dist
        info = PluginInfo(
            name=ep.name,
            value=ep.value,
            group=group,
            distribution=dist.metadata["Name"] if dist is not None else "<unknown>",
            version=dist.version if dist is not None else "<unknown>",
        )
        found.append((info, ep))
    return sorted(found, key=lambda pair: (pair[0].name, pair[0].distribution))


def load_plugin(ep: md.EntryPoint, *, kind: str) -> Callable[[], Any]:
    """Import an entry point's target, check the plugin API version it declares, and return the
    function that provides its tasks or mixture (``kind``: "task" or "mixture"; only task plugins
    may also be modules)."""
    try:
        target = ep.load()
    except Exception as exc:  # any import-time failure of third-party code is the plugin's, not ours
        raise PluginError(f"import failed: {type(exc).__name__}: {exc}") from exc
    if isinstance(target, types.ModuleType) and kind == "task":
        api = getattr(target, "MIXLAB_PLUGIN_API", None)
        provider = getattr(target, "tasks", None)
        if provider is None:
            static = getattr(target, "TASKS", None)
            if static is None:
                raise PluginError(f"module {target.__name__!r} defines neither tasks() nor TASKS")
            provider = lambda: static  # noqa: E731
    elif callable(target):
        api = getattr(target, "__mixlab_plugin_api__", None)
        provider = target
    else:
        raise PluginError(f"entry point names a {type(target).__name__}, not a function")
    if api is None:
        also = " or set MIXLAB_PLUGIN_API = 1 in the module" if kind == "task" else ""
        raise PluginError(f"declares no plugin API version; decorate it with @mixlab.{kind}_plugin(api=1){also}")
    if api not in SUPPORTED_API_VERSIONS:
        raise PluginError(f"targets plugin API {api!r}; this mixlab supports {sorted(SUPPORTED_API_VERSIONS)}")
    return provider


def call_plugin(provider: Callable[[], Any], what: str) -> Any:
    """``provider()``, with any exception it raises reported as the plugin's ``PluginError``."""
    try:
        return provider()
    except Exception as exc:  # a plugin's own bug must not take the registry down
        raise PluginError(f"raised while providing {what}: {type(exc).__name__}: {exc}") from exc


def call_task_plugin(ep: md.EntryPoint) -> list[Any]:
    """Import a task plugin, check its API version, and return what it provides (unchecked items)."""
    provided = call_plugin(load_plugin(ep, kind="task"), "tasks")
    if not isinstance(provided, Iterable) or isinstance(provided, (str, bytes)):
        raise PluginError(f"returned {type(provided).__name__}, not an iterable of Task")
    try:
        return list(provided)
    except Exception as exc:  # a generator plugin can fail midway; same policy as above
        raise PluginError(f"raised while providing tasks: {type(exc).__name__}: {exc}") from exc
