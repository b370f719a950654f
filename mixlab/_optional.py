"""Optional dependencies: import one, or fail with one line naming the extra that installs it.

``pip install mixlab`` is the light core (pydantic, numpy, networkx, PyYAML, tqdm); the rest comes
with extras (see pyproject.toml): ``torch`` (training), ``text`` (tokenizers), ``data`` (HF
``datasets``), ``plot`` (matplotlib), ``eval`` (ROUGE and BLEU), ``xla`` (torch-xla, its own
environment). :func:`require` is how mixlab imports such a package where a user asked for it, and
:func:`missing_dependency` turns a ``ModuleNotFoundError`` raised deeper down into the same message.

>>> require("json", "plot", "a doctest").__name__
'json'
>>> str(missing_dependency(ModuleNotFoundError("No module named 'matplotlib'", name="matplotlib"), "--plot"))
"--plot needs matplotlib, which is not installed: pip install 'mixlab[plot]'"
>>> missing_dependency(ModuleNotFoundError("No module named 'my_dep'", name="my_dep")) is None
True
"""

from __future__ import annotations

import importlib
from types import ModuleType

from mixlab.errors import MissingDependencyError

#: top-level module -> the extra of pyproject.toml that installs it (the lightest that does)
EXTRAS: dict[str, str] = {
    "torch": "torch",
    "transformers": "text",
    "sentencepiece": "text",
    "tokenizers": "text",
    "datasets": "data",
    "pyarrow": "data",
    "matplotlib": "plot",
    "rouge_score": "eval",
    "sacrebleu": "eval",
    "torch_xla": "xla",
    "lightgbm": "search",
    "pandas": "search",
}

#: the module name -> the name pip knows it by, where they differ
_PIP_NAMES = {"rouge_score": "rouge-score", "torch_xla": "torch-xla"}


def install_hint(module: str, extra: str | None = None) -> str:
    """``pip install 'mixlab[EXTRA]'`` for ``module`` (``pip install PACKAGE`` when no extra has it)."""
    extra = extra or EXTRAS.get(module.split(".")[0])
    return f"pip install 'mixlab[{extra}]'" if extra else f"pip install {_PIP_NAMES.get(module, module)}"


def require(module: str, extra: str | None = None, what: str | None = None) -> ModuleType:
    """Import ``module``; if it is not installed, raise :class:`~mixlab.errors.MissingDependencyError`
    with one line: ``"<what> needs <package>, which is not installed: pip install 'mixlab[<extra>]'"``."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        error = missing_dependency(exc, what, extra=extra, default=module)
        if error is None:  # something the optional package itself imports is missing: not ours to rename
            raise
        raise error from exc


def missing_dependency(exc: ModuleNotFoundError, what: str | None = None, *, extra: str | None = None,
                       default: str | None = None) -> MissingDependencyError | None:
    """The one-line error for ``exc`` when the missing module is an optional dependency of mixlab
    (or ``default``, the module :func:`require` was asked for), else ``None``."""
    if isinstance(exc, MissingDependencyError):
        return exc
    missing = (exc.name or default or "").split(".")[0]
    wanted = (default or "").split(".")[0]
    if not missing or (missing not in EXTRAS and missing != wanted):
        return None
    package = _PIP_NAMES.get(missing, missing)
    message = f"{what or 'this'} needs {package}, which is not installed: {install_hint(missing, extra)}"
    return MissingDependencyError(message, name=missing)


__all__ = ["EXTRAS", "install_hint", "missing_dependency", "require"]
