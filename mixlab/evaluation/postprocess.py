"""Postprocessors: what a model wrote (and the target) -> the text a metric compares.

Evaluation applies :func:`normalize_whitespace` to every prediction and target, then the task's own
``Task.postprocess`` when it has one (as seqio's ``postprocess_fn``, to both sides). Ready-made ones:

>>> normalize_whitespace("  a   noun\\n")
'a noun'
>>> to_label = labels(["entailment", "contradiction"])
>>> to_label("Entailment"), to_label("maybe")
('entailment', 'maybe')
>>> number("3.50"), number("1e3"), number("about 3")
('3.5', '1000', 'about 3')
>>> postprocessor_for(None)("  x  y ")
'x y'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

Postprocessor = Callable[[str], str]


def normalize_whitespace(text: str) -> str:
    """Leading/trailing whitespace removed, inner runs of whitespace made one space."""
    return " ".join(text.split())


def lower(text: str) -> str:
    """Lower case (for tasks whose labels differ only in case from what models write)."""
    return text.lower()


def labels(choices: Iterable[str]) -> Postprocessor:
    """Map a text equal to one of ``choices`` up to case to that choice; other texts stay (and score wrong)."""
    by_key = {choice.lower(): choice for choice in choices}
    if not by_key:
        raise ValueError("labels(): give at least one label string")

    def to_label(text: str) -> str:
        return by_key.get(text.lower(), text)

    return to_label


def number(text: str) -> str:
    """A number written canonically (``"3.50"`` -> ``"3.5"``, ``"2.0"`` -> ``"2"``); other texts stay."""
    try:
        value = float(text.replace(",", ""))
    except ValueError:
        return text
    if not math.isfinite(value):
        return text
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def postprocessor_for(task: Any) -> Postprocessor:
    """Whitespace normalisation, then ``task.postprocess`` when ``task`` has one (``task`` may be None)."""
    own = getattr(task, "postprocess", None)
    if own is None:
        return normalize_whitespace

    def both(text: str) -> str:
        return own(normalize_whitespace(text))

    return both


__all__ = ["Postprocessor", "labels", "lower", "normalize_whitespace", "number", "postprocessor_for"]
