"""Writing a matplotlib figure the way every ``plot_*`` function of mixlab does.

A plot function takes ``path=None`` and returns the ``Figure`` itself (for a notebook or a test);
given a path, it writes the figure there (the format follows the suffix; missing folders are made)
and returns the path. No matplotlib import here: the figure brings its own canvas.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def save_figure(fig: Any, path: str | Path | None, **savefig: Any) -> Any:
    """``fig`` when ``path`` is None; otherwise ``fig.savefig(path, **savefig)`` and the path as a ``Path``."""
    if path is None:
        return fig
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, **savefig)
    return out
