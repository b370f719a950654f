"""The one resume protocol every data stage follows (stream, batch iterator, training data source).

A stage is an iterable with ``state_dict()`` (where it is: small plain data, JSON-compatible) and
``load_state_dict(state)`` (continue from there; the next ``iter()`` starts at the saved position).
Every state is a dict that starts with ``{"kind": ..., "version": ...}``; :func:`header` writes
them and :func:`check_state` is the single version check, so a state saved by another stage or
another mixlab version is refused the same way everywhere, with a message that names the fix.

>>> state = {**header("demo", 1), "position": 3}
>>> check_state(state, "demo", 1)["position"]
3
>>> check_state({**header("demo", 0)}, "demo", 1)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
mixlab.errors.ResumeError: demo state has version 0, this mixlab reads version 1: ...; fix: ...
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol, runtime_checkable

from mixlab.errors import ResumeError


@runtime_checkable
class Resumable(Protocol):
    """An iterable stage whose position can be saved and restored exactly."""

    def __iter__(self) -> Iterator[Any]: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...


def header(kind: str, version: int) -> dict[str, Any]:
    """The first two keys of every state: which stage wrote it, and in which format version."""
    return {"kind": kind, "version": version}


def check_state(state: Any, kind: str, version: int) -> Mapping[str, Any]:
    """``state`` if it was written by a ``kind`` stage in format ``version``; else :class:`ResumeError`."""
    if not isinstance(state, Mapping):
        raise ResumeError(f"{kind} state must be a mapping (from state_dict()), got {type(state).__name__}; "
                          f"fix: pass what state_dict() returned")
    if state.get("kind") != kind:
        raise ResumeError(f"state of a {state.get('kind')!r} cannot resume a {kind}; fix: load it into the stage "
                          f"that saved it (or start a new run)")
    if state.get("version") != version:
        raise ResumeError(f"{kind} state has version {state.get('version')!r}, this mixlab reads version {version}: "
                          f"it was saved by another mixlab version; fix: resume with the mixlab version that saved "
                          f"it, or start a new run")
    return state


def check_fields(state: Mapping[str, Any], expected: Mapping[str, Any], what: str, fix: str) -> None:
    """Refuse ``state`` when a setting it records differs from this stage's (tuples compare as lists)."""
    for key, value in expected.items():
        saved = state.get(key)
        if _plain(saved) != _plain(value):
            raise ResumeError(f"cannot resume {what}: saved {key} is {saved!r:.120} but this one has {value!r:.120}; "
                              f"fix: {fix}")


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


__all__ = ["Resumable", "check_fields", "check_state", "header"]
