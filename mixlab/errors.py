"""Exception hierarchy: one root, each subclass also inherits the matching builtin."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class MixlabError(Exception):
    """Root of every error mixlab raises on purpose."""


class TaskSpecError(MixlabError, ValueError):
    """A task declaration is invalid."""


class TaskNotFoundError(MixlabError, LookupError):
    """A task (or mixture) name is not registered."""

    def __str__(self) -> str:  # LookupError would quote the message like a key
        return str(self.args[0]) if self.args else ""


class PluginError(MixlabError, RuntimeError):
    """A plugin failed to import, raised, or returned something that is not a task."""


class DuplicateTaskError(MixlabError, ValueError):
    """Two plugins registered the same task name."""


class MixtureSpecError(MixlabError, ValueError):
    """A mixture specification is invalid."""


class ConfigError(MixlabError, ValueError):
    """A training configuration is invalid."""


class DataError(MixlabError, ValueError):
    """A data row or file cannot be turned into an example."""


class ResumeError(MixlabError, ValueError):
    """Saved state does not match the object asked to resume from it."""


class CheckpointError(MixlabError, RuntimeError):
    """A checkpoint is missing, incomplete or corrupted."""


class MetricError(MixlabError, ValueError):
    """A metric name is unknown, or a metric cannot score the targets and predictions it was given."""


class NotARunError(DataError):
    """A folder given as a run folder does not exist or holds none of a run's files (``mixlab.run_folder``)."""


class MissingDependencyError(MixlabError, ModuleNotFoundError):
    """An optional package is not installed; the message names the extra that installs it (``mixlab._optional``)."""


class OutputPathError(MixlabError, ValueError):
    """A path to write (a figure, a graph, a report) is a folder, lies under a file, or cannot be written."""


def describe_validation_error(kind: str, name: str | None, error: Any, hints: Mapping[str, str] | None = None) -> str:
    """Turn a pydantic ``ValidationError`` into lines naming the object, the field and the fix.

    ``hints`` maps a field (dotted path, or its top-level name) to a sentence telling the user what to
    write instead; a message that already says ``fix:`` gets none.
    """
    hints = hints or {}
    label = f"{kind} {name!r}" if name else kind
    lines = [f"invalid {label}:"]
    for item in error.errors():
        loc = ".".join(str(part) for part in item["loc"]) or "(spec)"
        msg = item["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        line = f"  {loc}: {msg}"
        if "input" in item and item["type"] not in ("missing",) and not isinstance(item["input"], Mapping):
            line += f" (got {item['input']!r:.80})"
        hint = (hints.get(loc) or hints.get(str(item["loc"][0]))) if item["loc"] else None
        if hint and "fix:" not in msg:  # the field's own message may already say how to fix it
            line += f"; fix: {hint}"
        lines.append(line)
    return "\n".join(lines)
