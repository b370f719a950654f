"""Paths the command line writes (``--plot``, ``--graphml``, ``report --out``): checked before the work.

A path that is a folder, lies under a file, or cannot be written is refused with one line naming
the option, the path and the fix, before anything is computed; a write that fails later (disk
full, a folder removed meanwhile) is one line too (:func:`writing`).

>>> output_path("figures/rates", "--plot", suffixes=(".png", ".pdf"))
PosixPath('figures/rates.png')
>>> output_path("figures", "--plot", suffixes=(".png",))
Traceback (most recent call last):
...
mixlab.errors.OutputPathError: --plot 'figures' is a folder; fix: give a file name, e.g. figures/figure.png
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from mixlab.errors import OutputPathError


def figure_suffixes() -> tuple[str, ...]:
    """File types matplotlib can write, ``.png`` (the default) first, then ``.eps``, ``.pdf``, ``.svg``, ...;
    needs the ``plot`` extra."""
    import importlib

    from mixlab._optional import require

    require("matplotlib", "plot", "--plot")
    bases = importlib.import_module("matplotlib.backend_bases")
    kinds = sorted(f".{kind}" for kind in bases.FigureCanvasBase.get_supported_filetypes() if kind != "png")
    return (".png", *kinds)  # the first is the default


def output_path(value: str, option: str, *, suffixes: Sequence[str] = (), example: str = "figure") -> Path:
    """The path ``value`` will be written to, after checking that it can be.

    ``suffixes``: the file types allowed, the first being the default added to a name without one
    (matplotlib would add ``.png`` itself, and the CLI must print the name it really wrote).
    """
    path = Path(value).expanduser()
    default = suffixes[0] if suffixes else ""
    if path.is_dir() or value.endswith(os.sep):
        raise OutputPathError(f"{option} {value!r} is a folder; fix: give a file name, e.g. "
                              f"{path / (example + default)}")
    if suffixes and not path.suffix:
        path = path.with_name(path.name + default)
    elif suffixes and path.suffix.lower() not in suffixes:
        raise OutputPathError(f"{option} {value!r}: cannot write {path.suffix!r} files; fix: end the name with one of "
                              f"{', '.join(suffixes)}")
    existing = next(p for p in (path.parent, *path.parent.parents) if p.exists() or p == p.parent)
    if existing.exists() and not existing.is_dir():
        raise OutputPathError(f"{option} {value!r}: {str(existing)!r} is a file, not a folder; fix: choose a "
                              f"path in a folder")
    _check_writable(path, option, value)
    return path


def _check_writable(path: Path, option: str, value: str) -> None:
    """Create the parent folders and open the file for appending (removed again if it was not there)."""
    existed = path.exists()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab"):
            pass
    except OSError as exc:
        raise OutputPathError(f"{option} {value!r}: cannot write there ({exc.strerror or exc}); fix: choose a "
                              f"writable path") from exc
    if not existed:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def writing(path: Path | str, option: str) -> Iterator[None]:
    """Turn an ``OSError`` while writing ``path`` into one line naming ``option`` and the path."""
    try:
        yield
    except OSError as exc:
        raise OutputPathError(f"{option} {str(path)!r}: writing failed ({exc.strerror or exc}); fix: check the "
                              f"folder and free space, or choose another path") from exc


def wrote(path: object, json_on_stdout: bool = False) -> None:
    """``wrote PATH`` (the file really written): on stdout, or on stderr when stdout holds JSON."""
    print(f"wrote {path}", file=sys.stderr if json_on_stdout else sys.stdout)


__all__ = ["figure_suffixes", "output_path", "writing", "wrote"]
