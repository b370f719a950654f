"""The one version source: pyproject.toml reads it, ``mixlab.__version__`` imports it."""

__version__ = "0.1.0"
