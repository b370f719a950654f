"""What docs/plugins.md promises about packaging: ``FileSource`` takes ``pathlib.Path``, and the guide's
``pyproject.toml`` builds a wheel that ships the plugin's data files (without package-data it would not)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mixlab import FileSource, TaskSpecError

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "plugins.md"


def test_file_source_takes_paths_and_keeps_plain_strings(tmp_path):
    (tmp_path / "train.jsonl").write_text('{"a": 1}\n{"a": 2}\n')
    from_path = FileSource(format="jsonl", files={"train": [Path("train.jsonl")]}, root=tmp_path)
    from_str = FileSource(format="jsonl", files={"train": ["train.jsonl"]}, root=str(tmp_path))
    assert from_path == from_str and from_path.root == str(tmp_path)
    assert from_path.model_dump()["files"] == {"train": ["train.jsonl"]}
    assert from_path.paths("train") == [tmp_path / "train.jsonl"]
    assert list(from_path.load("train")) == [{"a": 1}, {"a": 2}]
    with pytest.raises(TaskSpecError, match=r"root: Input should be a valid string"):
        FileSource(format="jsonl", files={"train": ["x"]}, root=3)


def guide_pyproject() -> str:
    blocks = [body for lang, body in re.findall(r"^```(\w+)[^\n]*\n(.*?)^```", GUIDE.read_text(), re.S | re.M)
              if lang == "toml" and "[build-system]" in body]
    assert len(blocks) == 1, "docs/plugins.md should show one complete pyproject.toml with [build-system]"
    return blocks[0]


def build_wheel(pyproject: str, folder: Path) -> list[str]:
    """Names in the wheel pip builds from ``pyproject`` and a package with one data file (no network)."""
    package = folder / "src"
    (package / "mydata_mixlab" / "data").mkdir(parents=True)
    (package / "pyproject.toml").write_text(pyproject)
    (package / "mydata_mixlab" / "__init__.py").write_text("def tasks():\n    return []\n")
    (package / "mydata_mixlab" / "data" / "train.jsonl").write_text('{"review": "ok", "stars": 5}\n')
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--disable-pip-version-check", "-w", str(folder / "dist"), str(package)],
                   check=True, capture_output=True, text=True, timeout=300)
    (wheel,) = (folder / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


needs_setuptools = pytest.mark.skipif(importlib.util.find_spec("setuptools") is None,
                                      reason="building a wheel offline needs setuptools in this environment")


@needs_setuptools
def test_the_guides_pyproject_ships_the_data(tmp_path):
    text = guide_pyproject()
    assert 'build-backend = "setuptools.build_meta"' in text and "[tool.setuptools.package-data]" in text
    names = build_wheel(text, tmp_path)
    assert "mydata_mixlab/data/train.jsonl" in names and "mydata_mixlab/__init__.py" in names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert entry_points.startswith("mydata_mixlab-1.0.0.dist-info/")


@needs_setuptools
@pytest.mark.slow
def test_without_package_data_the_wheel_has_no_data(tmp_path):
    """Why the guide insists: the same project without [tool.setuptools.package-data] ships code only."""
    text = guide_pyproject()
    stripped = text[:text.index("[tool.setuptools.package-data]")]
    names = build_wheel(stripped, tmp_path)
    assert "mydata_mixlab/__init__.py" in names and not any(n.endswith(".jsonl") for n in names)
