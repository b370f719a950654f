"""The stream package's shape: its public names, its modules' sizes, and no import of the samplers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mixlab.stream

PACKAGE = Path(mixlab.stream.__file__).parent


def test_public_names():
    from mixlab.stream import BLOCK_SIZE, EXHAUSTION, STATE_VERSION, MixtureStream

    assert (BLOCK_SIZE, EXHAUSTION, STATE_VERSION) == (4096, ("repeat", "first", "all"), 4)
    assert MixtureStream.__module__ == "mixlab.stream.mixture_stream"


def test_stream_imports_without_the_samplers():
    """The stream needs only a mixture's name, tasks and probabilities: importing every module of the
    package (and iterating a duck-typed mixture) leaves mixlab.samplers unimported."""
    modules = sorted(f"mixlab.stream.{p.stem}" for p in PACKAGE.glob("*.py") if p.stem != "__init__")
    code = (
        f"import sys, importlib\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "from mixlab import CallableSource, Task\n"
        "from mixlab.stream import MixtureStream\n"
        "rows = [{'x': str(i)} for i in range(3)]\n"
        "task = Task(name='d/t', family='d', collection='d', num_examples={'train': 3},\n"
        "            source=CallableSource(fn=lambda split: rows),\n"
        "            formatter=lambda r: {'inputs': r['x'], 'targets': 'y'})\n"
        "class Duck:\n"
        "    name, tasks, probabilities = 'duck', {'d/t': task}, {'d/t': 1.0}\n"
        "print(sorted(ex['index'] for ex in MixtureStream(Duck(), seed=0, exhaustion='first')))\n"
        "print(sorted(m for m in sys.modules if m.startswith('mixlab.samplers')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[:2] == ["[0, 1, 2]", "[]"]


def test_modules_stay_small():
    sizes = {p.name: len(p.read_text().splitlines()) for p in PACKAGE.glob("*.py")}
    assert set(sizes) >= {"__init__.py", "mixture_stream.py", "permutation.py", "rows.py", "schedule.py"}
    assert max(sizes.values()) < 400, sizes
