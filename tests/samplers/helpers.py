"""Shared helpers for the sampler and stream tests: tiny in-memory tasks and the resume check."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable

from mixlab import CallableSource, Task
from mixlab.stream import MixtureStream


def make_task(name: str, n: int, family: str = "fam", *, self_supervised: bool = False, version: str = "1.0.0",
              collection: str = "test") -> Task:
    """A task with ``n`` rows ``{"x": "<name>:<i>"}`` held in memory."""
    def rows(split: str) -> list[dict[str, str]]:  # built on load only: property tests use huge sizes
        return [{"x": f"{name}:{i}", "text": f"text {name}:{i}"} for i in range(n)]

    return Task(
        name=name, family=family, collection=collection, num_examples={"train": n}, version=version,
        source=CallableSource(fn=rows),
        formatter=None if self_supervised else (lambda row: {"inputs": row["x"], "targets": row["x"].upper()}),
        self_supervised=self_supervised,
    )


def take(iterable: Iterable, n: int | None) -> list:
    return list(iterable) if n is None else list(itertools.islice(iterable, n))


def assert_resumes_at_every_position(make_stream: Callable[[], MixtureStream], n: int, *, finite: bool = False) -> None:
    """For every k < n: consume k examples, save state (through JSON), resume in a fresh stream,
    and check that it yields exactly the tail of an uninterrupted run (all of it if ``finite``)."""
    full = take(iter(make_stream()), None if finite else n)
    assert full, "the stream yielded nothing"
    for k in range(min(n, len(full)) + 1):
        stream = make_stream()
        head = take(iter(stream), k)
        assert head == full[:k]
        state = json.loads(json.dumps(stream.state_dict()))
        resumed = make_stream()
        resumed.load_state_dict(state)
        tail = take(iter(resumed), None if finite else len(full) - k)
        assert tail == full[k:], f"resume after {k} examples diverged"


def plugin_returning(spec: object) -> Callable[[], object]:
    """A mixture plugin function (API 1) returning ``spec``."""
    from mixlab.samplers import mixture_plugin

    @mixture_plugin(api=1)
    def provide() -> object:
        return spec
    return provide
