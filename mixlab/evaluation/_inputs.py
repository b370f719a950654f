"""What every metric checks of its inputs, and how it imports an optional package."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

from mixlab.errors import MetricError

Target = str | Sequence[str]
Metric = Callable[[Sequence[Target], Sequence[str]], dict[str, float]]
EXTRA_HINT = "pip install 'mixlab[eval]'"


def check_inputs(name: str, targets: Sequence[Target], predictions: Sequence[str]) -> None:
    if len(targets) != len(predictions):
        raise MetricError(f"metric {name!r}: {len(targets)} targets but {len(predictions)} predictions; "
                          f"give one prediction per target")
    if not targets:
        raise MetricError(f"metric {name!r}: no examples to score")
    for i, prediction in enumerate(predictions):
        if not isinstance(prediction, str):
            raise MetricError(f"metric {name!r}: prediction {i} is a {type(prediction).__name__}, not a str")


def label_targets(name: str, targets: Sequence[Target], predictions: Sequence[str]) -> list[str]:
    """Targets of a metric that takes one target string per example."""
    check_inputs(name, targets, predictions)
    for i, target in enumerate(targets):
        if not isinstance(target, str):
            raise MetricError(f"metric {name!r}: target {i} is a {type(target).__name__}; this metric takes "
                              f"one target string per example (only squad, rouge and bleu take several)")
    return list(targets)  # type: ignore[arg-type]


def reference_targets(name: str, targets: Sequence[Target], predictions: Sequence[str]) -> list[list[str]]:
    """Each example's reference strings (a plain string is one reference)."""
    check_inputs(name, targets, predictions)
    out = []
    for i, target in enumerate(targets):
        refs = [target] if isinstance(target, str) else list(target)
        if not refs or not all(isinstance(r, str) for r in refs):
            raise MetricError(f"metric {name!r}: target {i} must be a string or a non-empty list of strings, "
                              f"got {target!r:.80}")
        out.append(refs)
    return out


def import_extra(module: str, package: str, metric: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"metric {metric!r} needs the {package} package: {EXTRA_HINT}") from exc

