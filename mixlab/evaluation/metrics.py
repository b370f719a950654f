"""Task metrics as ``t5.evaluation.metrics`` computes them, on its 0-100 scale, without TensorFlow.

```
Task.metrics ("rougeL", "bleu") --get(name)--> fn(targets, predictions) -> {"rougeL": 41.2}
   classification.py  accuracy, exact_match, f1, macro_f1, matthews_corrcoef, pearson/spearman_corrcoef
   overlap.py         squad, rouge* (rouge-score), bleu (sacrebleu): imported when a metric runs
names(): every accepted name (metrics and aliases); importing this module loads only the standard library
```

A metric is a function ``(targets, predictions) -> dict[str, float]``: ``predictions`` are strings (what the
model wrote, after the task's postprocessor); ``targets`` are strings, and for ``squad``, ``rouge*`` and
``bleu`` an item may also be a list of reference strings (several correct answers). Differences from t5,
all deliberate:

* ROUGE is the plain mean of the per-example F-measures; t5 reports the ``mid`` (median) of a
  1000-sample ``BootstrapAggregator`` drawn from NumPy's unseeded global generator, so its figure moves
  by bootstrap noise from call to call around that mean. ``rouge_scores(..., bootstrap_seed=0)`` runs
  t5's aggregator with a fixed seed when that figure is wanted.
* ``macro_f1`` averages over the classes present in the targets (t5's ``mean_multiclass_f1`` takes
  ``num_classes`` and would add a 0 for a class that neither targets nor predictions contain);
  ``macro_f1_for(labels)`` takes the full class list.
* ``exact_match`` is per-example (t5's ``sequence_accuracy``), not t5's corpus-level ``all_match``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from mixlab.errors import MetricError
from mixlab.evaluation._inputs import EXTRA_HINT, Metric, Target
from mixlab.evaluation.classification import (
    INVALID_FLOAT,
    accuracy,
    binary_f1_for,
    exact_match,
    f1,
    macro_f1,
    macro_f1_for,
    matthews_corrcoef,
    parse_float,
    pearson_corrcoef,
    spearman_corrcoef,
)
from mixlab.evaluation.overlap import BLEU_ARGS, bleu, normalize_squad, rouge, rouge_metric, rouge_scores, squad

__all__ = [
    "ALIASES", "BLEU_ARGS", "EXTRA_HINT", "INVALID_FLOAT", "Metric", "Target", "accuracy", "binary_f1_for", "bleu",
    "check_names", "exact_match", "f1", "get", "macro_f1", "macro_f1_for", "matthews_corrcoef", "names",
    "normalize_squad", "parse_float", "pearson_corrcoef", "rouge", "rouge_scores", "spearman_corrcoef", "squad",
]

_METRICS: dict[str, Metric] = {
    "accuracy": accuracy,
    "exact_match": exact_match,
    "squad": squad,
    "f1": f1,
    "macro_f1": macro_f1,
    "matthews_corrcoef": matthews_corrcoef,
    "pearson_corrcoef": pearson_corrcoef,
    "spearman_corrcoef": spearman_corrcoef,
    "rouge": rouge,
    **{key: rouge_metric((key,)) for key in ("rouge1", "rouge2", "rougeL", "rougeLsum")},
    "bleu": bleu,
}

#: other names accepted for a metric (t5's and the catalogs' spellings); the output keys stay the metric's
ALIASES: dict[str, str] = {
    "binary_f1": "f1",
    "mean_multiclass_f1": "macro_f1",
    "matthews_corr": "matthews_corrcoef",
    "pearson": "pearson_corrcoef",
    "spearman": "spearman_corrcoef",
}


def names() -> list[str]:
    """Every name ``get`` accepts (metrics and aliases), sorted."""
    return sorted([*_METRICS, *ALIASES])


def _unknown(name: str) -> str:
    known = names()
    close = [n for n in known if n.lower() == str(name).lower()]
    close += [n for n in difflib.get_close_matches(str(name), known, n=3, cutoff=0.6) if n not in close]
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    return f"unknown metric {name!r}{hint} (known: {', '.join(known)})"


def get(name: str) -> Metric:
    """The metric function called ``name`` (or an alias of it); an unknown name raises ``MetricError``."""
    metric = _METRICS.get(ALIASES.get(name, name))
    if metric is None:
        raise MetricError(_unknown(name))
    return metric


def check_names(metric_names: Iterable[str]) -> None:
    """Raise ``MetricError`` naming the first unknown metric name, with close matches and the known names."""
    for name in metric_names:
        if ALIASES.get(name, name) not in _METRICS:
            raise MetricError(_unknown(name))
