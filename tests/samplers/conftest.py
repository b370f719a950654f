"""Fixtures of the sampler tests: fake mixture entry points."""

from __future__ import annotations

import pytest

from mixlab.registry import plugins
from mixlab.registry.plugins import MIXTURES_GROUP, PluginInfo


class FakeEntryPoint:
    def __init__(self, name, target, *, loaded):
        self.name, self.value, self._target, self._loaded = name, f"fake_mod:{name}", target, loaded

    def load(self):
        self._loaded.append(self.name)
        if isinstance(self._target, Exception):
            raise self._target
        return self._target


@pytest.fixture
def named(monkeypatch):
    """Install fake mixture entry points (distribution mixlab-fake 9.1).

    Returns (register(name, target), the names loaded so far)."""
    eps: list = []
    loaded: list[str] = []
    real = plugins.discover

    def discover(group):
        if group != MIXTURES_GROUP:
            return real(group)
        return sorted(((PluginInfo(name=ep.name, value=ep.value, group=group, distribution="mixlab-fake",
                                   version="9.1"), ep) for ep in eps), key=lambda pair: pair[0].name)

    monkeypatch.setattr(plugins, "discover", discover)

    def register(name, target):
        eps.append(FakeEntryPoint(name, target, loaded=loaded))

    return register, loaded
