"""Metrics of labels and numbers: accuracy, exact match, binary and macro F1, Matthews, Pearson, Spearman."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

from mixlab.errors import MetricError
from mixlab.evaluation._inputs import Metric, Target, label_targets

#: t5's ``string_to_float`` postprocessor gives this for a prediction that is not a number
INVALID_FLOAT = -1.0


def accuracy(targets: Sequence[Target], predictions: Sequence[str]) -> dict[str, float]:
    """Percentage of predictions equal to their target string."""
    labels = label_targets("accuracy", targets, predictions)
    return {"accuracy": 100.0 * sum(t == p for t, p in zip(labels, predictions, strict=True)) / len(labels)}


def exact_match(targets: Sequence[Target], predictions: Sequence[str]) -> dict[str, float]:
    """Percentage of predictions that are exactly their target (t5's ``sequence_accuracy``; no normalisation)."""
    labels = label_targets("exact_match", targets, predictions)
    return {"exact_match": 100.0 * sum(t == p for t, p in zip(labels, predictions, strict=True)) / len(labels)}


def _f1_of(tp: int, fp: int, fn: int) -> float:
    denominator = 2 * tp + fp + fn
    return 2 * tp / denominator if denominator else 0.0  # sklearn's zero_division: 0


def binary_f1_for(positive: str, negative: str | None = None) -> Metric:
    """Binary F1 of the ``positive`` label, as t5's ``f1_score_with_invalid``.

    A prediction that is neither ``positive`` nor ``negative`` is invalid and counted wrong (as the
    opposite of its target). With ``negative=None`` every prediction other than ``positive`` is negative.
    """
    def binary_f1(targets: Sequence[Target], predictions: Sequence[str]) -> dict[str, float]:
        labels = label_targets("f1", targets, predictions)
        if negative is not None:
            bad = sorted({t for t in labels if t not in (positive, negative)})
            if bad:
                raise MetricError(f"metric 'f1': targets {bad} are neither the positive label {positive!r} "
                                  f"nor the negative {negative!r}")
        tp = fp = fn = 0
        for t, p in zip(labels, predictions, strict=True):
            truth = t == positive
            said = True if p == positive else (not truth if negative is not None and p != negative else False)
            tp += truth and said
            fp += said and not truth
            fn += truth and not said
        return {"f1": 100.0 * _f1_of(tp, fp, fn)}

    return binary_f1


_FALSE_WORDS = {"0", "false", "no", "negative", "incorrect"}
_NEGATIONS = ("not_", "not ", "not-", "non_", "non-", "non ", "non", "un", "in", "dis")


def _negates(negative: str, positive: str) -> bool:
    return negative.lower() in {prefix + positive.lower() for prefix in _NEGATIONS}


def _looks_negative(label: str) -> bool:
    low = label.lower()
    return low in _FALSE_WORDS or low.startswith(_NEGATIONS[:6])


def f1(targets: Sequence[Target], predictions: Sequence[str]) -> dict[str, float]:
    """Binary F1 (0-100) of the positive label, which is read off the labels.

    The positive label is the one the other negates (``equivalent`` / ``not_equivalent``, ``irony`` /
    ``non_irony``, ``acceptable`` / ``unacceptable``) or the true one of ``True/False``, ``1/0``,
    ``yes/no``, ``positive/negative``. When the targets hold one label, its pair is looked for among the
    predictions; failing that, a label starting with ``not``/``non`` or a false word is negative (F1 0),
    any other is the positive one. Other label pairs need ``binary_f1_for(positive=...)``.
    """
    labels = sorted(set(label_targets("f1", targets, predictions)))
    if len(labels) == 1:  # the other label may be among the predictions
        partner = next((p for p in sorted(set(predictions)) if _negates(p, labels[0]) or _negates(labels[0], p)), None)
        if partner is not None:
            labels = sorted([labels[0], partner])
    if len(labels) == 1:
        if _looks_negative(labels[0]):
            return {"f1": 0.0}  # no positive target: no true positive, so F1 is 0 whatever was predicted
        return binary_f1_for(labels[0])(targets, predictions)
    if len(labels) == 2:
        a, b = labels
        if _negates(a, b) or (a.lower() in _FALSE_WORDS and b.lower() not in _FALSE_WORDS):
            return binary_f1_for(b, a)(targets, predictions)
        if _negates(b, a) or (b.lower() in _FALSE_WORDS and a.lower() not in _FALSE_WORDS):
            return binary_f1_for(a, b)(targets, predictions)
    fix = ("for more than two labels use 'macro_f1'" if len(labels) > 2
           else "use mixlab.evaluation.metrics.binary_f1_for(positive=...)")
    raise MetricError(f"metric 'f1' cannot tell which of the target labels {labels[:10]} is positive; {fix}")


def macro_f1_for(labels: Iterable[str]) -> Metric:
    """Unweighted mean of per-class F1 over ``labels`` (t5's ``mean_multiclass_f1`` on class ids).

    A prediction outside ``labels`` is invalid: a miss for its target's class, a false positive for none.
    """
    classes = sorted(set(labels))

    def multiclass_f1(targets: Sequence[Target], predictions: Sequence[str]) -> dict[str, float]:
        truth = label_targets("macro_f1", targets, predictions)
        scores = []
        for c in classes:
            tp = sum(t == c and p == c for t, p in zip(truth, predictions, strict=True))
            fp = sum(t != c and p == c for t, p in zip(truth, predictions, strict=True))
            fn = sum(t == c and p != c for t, p in zip(truth, predictions, strict=True))
            scores.append(_f1_of(tp, fp, fn))
        return {"macro_f1": 100.0 * sum(scores) / len(scores)}

    return multiclass_f1


def macro_f1(targets: Sequence[Target], predictions: Sequence[str]) -> dict[str, float]:
    """Macro-averaged F1 (0-100) over the classes present in the targets."""
    return macro_f1_for(label_targets("macro_f1", targets, predictions))(targets, predictions)


def matthews_corrcoef(targets: Sequence[Target], predictions: Sequence[str]) -> dict[str, float]:
    """Matthews correlation (0-100 scale, so -100..100) of label strings; sklearn's multi-class formula.

    Predictions that are not a target label all count as one invalid class (t5 maps them to class -1).
    """
    truth = label_targets("matthews_corrcoef", targets, predictions)
    known = set(truth)
    said = [p if p in known else None for p in predictions]
    n = len(truth)
    correct = sum(t == p for t, p in zip(truth, said, strict=True))
    t_sum, p_sum = Counter(truth), Counter(said)
    cov_tp = correct * n - sum(t_sum[k] * p_sum[k] for k in t_sum)
    cov_pp = n * n - sum(v * v for v in p_sum.values())
    cov_tt = n * n - sum(v * v for v in t_sum.values())
    if cov_pp * cov_tt == 0:
        return {"matthews_corrcoef": 0.0}  # sklearn's answer when one side is constant
    return {"matthews_corrcoef": 100.0 * cov_tp / math.sqrt(cov_tt * cov_pp)}


def parse_float(text: str, default: float = INVALID_FLOAT) -> float:
    """``float(text)``, or ``default`` when it is not a number (t5's ``string_to_float`` postprocessor)."""
    try:
        return float(text)
    except ValueError:
        return default


def _numbers(name: str, targets: Sequence[Target], predictions: Sequence[str]) -> tuple[list[float], list[float]]:
    truth = []
    for i, target in enumerate(label_targets(name, targets, predictions)):
        try:
            truth.append(float(target))
        except ValueError:
            raise MetricError(f"metric {name!r}: target {i} ({target!r:.40}) is not a number") from None
    return truth, [parse_float(p) for p in predictions]


def _pearson(x: list[float], y: list[float]) -> float:
    mx, my = math.fsum(x) / len(x), math.fsum(y) / len(y)
    dx, dy = [v - mx for v in x], [v - my for v in y]
    denominator = math.sqrt(math.fsum(v * v for v in dx) * math.fsum(v * v for v in dy))
    if denominator == 0 or math.isnan(denominator):
        return math.nan  # scipy: a constant input has no correlation (nan, with a warning)
    return max(-1.0, min(1.0, math.fsum(a * b for a, b in zip(dx, dy, strict=True)) / denominator))


def _ranks(values: list[float]) -> list[float]:
    """1-based ranks, ties given their average rank (scipy ``rankdata(method="average")``)."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for k in range(start, end + 1):
            ranks[order[k]] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def pearson_corrcoef(targets: Sequence[Target], predictions: Sequence[str]) -> dict[str, float]:
    """Pearson correlation x 100 of numbers; a prediction that is not a number counts as -1 (as t5)."""
    x, y = _numbers("pearson_corrcoef", targets, predictions)
    return {"pearson_corrcoef": 100.0 * _pearson(x, y)}


def spearman_corrcoef(targets: Sequence[Target], predictions: Sequence[str]) -> dict[str, float]:
    """Spearman rank correlation x 100 of numbers; a prediction that is not a number counts as -1 (as t5)."""
    x, y = _numbers("spearman_corrcoef", targets, predictions)
    if any(math.isnan(v) for v in x + y):
        return {"spearman_corrcoef": math.nan}  # scipy's nan_policy="propagate"
    return {"spearman_corrcoef": 100.0 * _pearson(_ranks(x), _ranks(y))}

