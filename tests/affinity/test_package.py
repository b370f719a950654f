"""Package rules: docstring examples run, and importing the package stays light."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["mixlab.affinity.graph", "mixlab.affinity.scores", "mixlab.affinity.compare"]  # those with examples


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
