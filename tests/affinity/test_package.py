"""Package rules: docstring examples run, and importing the package stays light."""

from __future__ import annotations

import doctest
import importlib
import subprocess
import sys

import pytest

MODULES = ["mixlab.affinity.graph", "mixlab.affinity.scores", "mixlab.affinity.compare",
           "mixlab.affinity.grouping", "mixlab.affinity.propose", "mixlab.affinity.results"]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_import_is_light():
    code = ("import sys, mixlab, mixlab.affinity; "
            "heavy = {'torch', 'transformers', 'matplotlib', 'datasets'} & set(sys.modules); "
            "print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    assert "affinity" in dir(importlib.import_module("mixlab"))
