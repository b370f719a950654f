"""Every ``python`` and ``bash`` code block in README.md and docs/*.md runs.

Python blocks of one file run in order in one namespace (so later blocks may use earlier
names); bash blocks run with the test environment's ``bin`` first on PATH. Both run from the
repository root, as a user who cloned it would; outputs go under ``runs/`` (ignored by git). Blocks that
cannot run on a CPU-only machine without network (TPU, multi-GPU, ``make``) are fenced as
``text`` and say so.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```", re.S | re.M)


def blocks(path: Path, language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(path.read_text()) if lang == language]


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_doc_code_blocks_run(path, monkeypatch):
    monkeypatch.chdir(ROOT)
    namespace: dict = {"__name__": f"doc_{path.stem}"}
    for number, code in enumerate(blocks(path, "python"), start=1):
        try:
            exec(compile(code, f"{path.name}:python-block-{number}", "exec"), namespace)
        except Exception as exc:  # re-raise with the block that failed, for a readable report
            raise AssertionError(f"{path.name} python block {number} failed: {exc!r}\n{code}") from exc
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    for number, code in enumerate(blocks(path, "bash"), start=1):
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", code], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, f"{path.name} bash block {number} failed:\n{code}\n{result.stderr[-3000:]}"
