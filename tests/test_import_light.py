"""Ratchet: the parts of mixlab that plan and describe (not train) import no heavy library.

Listing tasks, building mixtures, streaming, analysing affinity and writing reports must stay
instant; torch, transformers, datasets and matplotlib load only where training, loading data or
plotting actually happens.
"""

import subprocess
import sys

import pytest

HEAVY = ("torch", "transformers", "datasets", "matplotlib")
LIGHT = ("mixlab", "mixlab.registry", "mixlab.samplers", "mixlab.stream", "mixlab.text", "mixlab.affinity",
         "mixlab.report", "mixlab.cli", "mixlab.environment")


@pytest.mark.parametrize("module", LIGHT)
def test_module_imports_no_heavy_library(module):
    code = (f"import sys, {module}, mixlab; mixlab.load_registry(); mixlab.batches; mixlab.span_corruption; "
            f"mixlab.affinity; mixlab.report; print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
