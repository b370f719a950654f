"""One version source: mixlab/_version.py, read by setuptools and imported by mixlab."""

import importlib.metadata
import tomllib
from pathlib import Path

import mixlab
from mixlab._version import __version__

ROOT = Path(__file__).resolve().parents[1]


def test_version_matches_the_installed_distribution():
    # A mismatch means the installed metadata is stale: reinstall (`make .venv-test/.installed`).
    assert mixlab.__version__ == __version__ == importlib.metadata.version("mixlab")


def test_pyproject_reads_the_version_from_mixlab():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "mixlab._version.__version__"}


def test_changelog_has_an_entry_for_this_version():
    assert f"\n## {__version__}\n" in (ROOT / "CHANGELOG.md").read_text()
