"""The task registry: tasks from entry-point plugins, with provenance and failure records."""

from __future__ import annotations

import difflib
import fnmatch
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from mixlab.errors import DuplicateTaskError, PluginError, TaskNotFoundError
from mixlab.registry.plugins import TASKS_GROUP, LoadError, PluginInfo, call_task_plugin, discover
from mixlab.registry.task import Task

logger = logging.getLogger(__name__)

@dataclass(frozen=True, kw_only=True)
class TaskRecord:
    """A task and the plugin (entry point, distribution, version) that provided it."""

    task: Task
    plugin: PluginInfo


class Registry:
    """Tasks by name. Build it with :func:`load_registry` or, in tests, :meth:`from_tasks`."""

    def __init__(self, records: Iterable[TaskRecord], load_errors: Sequence[LoadError] = ()) -> None:
        by_name: dict[str, list[TaskRecord]] = {}
        for record in records:
            by_name.setdefault(record.task.name, []).append(record)
        self._records = {name: recs[0] for name, recs in sorted(by_name.items()) if len(recs) == 1}
        self._duplicates = {name: recs for name, recs in sorted(by_name.items()) if len(recs) > 1}
        errors = list(load_errors)
        for name, recs in self._duplicates.items():
            errors.append(LoadError(plugin=recs[1].plugin, error=_duplicate_error(name, recs)))
        self.load_errors: tuple[LoadError, ...] = tuple(errors)

    @classmethod
    def from_tasks(cls, tasks: Iterable[Task], *, distribution: str = "<test>") -> Registry:
        """A registry holding ``tasks`` directly, for tests and interactive use."""
        plugin = PluginInfo(name=distribution, value="<in memory>", group=TASKS_GROUP, distribution=distribution,
                            version="0")
        return cls(TaskRecord(task=t, plugin=plugin) for t in tasks)

    # ----------------------------------------------------------------- lookup
    def __contains__(self, name: object) -> bool:
        return name in self._records

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[Task]:
        return (record.task for record in self._records.values())

    def names(self) -> list[str]:
        """All task names, sorted."""
        return list(self._records)

    def get(self, name: str) -> Task:
        """The task called ``name``; unknown names raise with close matches."""
        return self.record(name).task

    def __getitem__(self, name: str) -> Task:
        return self.get(name)

    def record(self, name: str) -> TaskRecord:
        """The task and its provenance."""
        if name in self._records:
            return self._records[name]
        if name in self._duplicates:
            raise _duplicate_error(name, self._duplicates[name])
        close = difflib.get_close_matches(name, self.names(), n=3, cutoff=0.6)
        if not close and "/" not in name:
            close = [n for n in self.names() if n.split("/", 1)[-1] == name][:3]
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise TaskNotFoundError(f"no task named {name!r}{hint} ({len(self)} tasks registered; "
                                f"`mixlab tasks` lists them)")

    def provenance(self, name: str) -> PluginInfo:
        """The entry point and distribution that registered ``name``."""
        return self.record(name).plugin

    def select(
        self,
        *,
        collection: str | None = None,
        family: str | None = None,
        tag: str | None = None,
        pattern: str | None = None,
    ) -> list[Task]:
        """Tasks matching every given filter (case-insensitive; ``pattern`` is a glob on names), sorted."""

        def same(a: str, b: str | None) -> bool:
            return b is None or a.casefold() == b.casefold()

        chosen = [
            t for t in self
            if same(t.collection, collection)
            and same(t.family, family)
            and (tag is None or tag.casefold() in {x.casefold() for x in t.tags})
            and (pattern is None or fnmatch.fnmatchcase(t.name, pattern))
        ]
        if not chosen and any(v is not None for v in (collection, family, tag, pattern)):
            logger.warning("selection collection=%s family=%s tag=%s pattern=%s matches no task",
                           collection, family, tag, pattern)
        return chosen


def _duplicate_error(name: str, records: Sequence[TaskRecord]) -> DuplicateTaskError:
    who = " and ".join(f"{r.plugin.distribution} {r.plugin.version} (entry point {r.plugin.name!r})" for r in records)
    return DuplicateTaskError(f"task {name!r} is registered by {who}; uninstall one or rename the task")


def load_registry(*, strict: bool = False, plugins: Iterable[str] | None = None) -> Registry:
    """Discover task plugins through entry points and build a :class:`Registry`.

    ``plugins`` restricts loading to the named entry points (others are not imported).
    A failing plugin is recorded in ``registry.load_errors`` and the rest load; with
    ``strict=True`` the first failure (including a duplicate task name) raises instead.
    """
    wanted = None if plugins is None else set(plugins)
    records: list[TaskRecord] = []
    errors: list[LoadError] = []
    found = discover(TASKS_GROUP)
    if wanted is not None:
        missing = wanted - {info.name for info, _ in found}
        if missing:
            raise TaskNotFoundError(f"no task plugin named {sorted(missing)}; installed: "
                                    f"{sorted({info.name for info, _ in found})}")
    for info, ep in found:
        if wanted is not None and info.name not in wanted:
            continue
        try:
            provided = call_task_plugin(ep)
            bad = [item for item in provided if not isinstance(item, Task)]
            if bad:
                raise PluginError(f"returned {type(bad[0]).__name__} {bad[0]!r:.60}, not a mixlab.Task")
        except PluginError as exc:
            error = LoadError(plugin=info, error=exc)
            if strict:
                raise PluginError(str(error)) from exc
            logger.debug("%s", error)
            errors.append(error)
            continue
        records.extend(TaskRecord(task=task, plugin=info) for task in provided)
    registry = Registry(records, errors)
    if registry.load_errors:
        if strict:
            raise registry.load_errors[0].error
        logger.warning("%d task plugin(s) failed to load (%s); see registry.load_errors",
                       len(registry.load_errors), ", ".join(e.plugin.name for e in registry.load_errors))
    return registry
