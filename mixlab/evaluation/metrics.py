"""Task metrics as ``t5.evaluation.metrics`` computes them, on its 0-100 scale, without TensorFlow.

```
Task.metrics ("rougeL", "bleu") --get(name)--> fn(targets, predictions) -> {"rougeL": 41.2}
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
import importlib
import math
import re
import string
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from mixlab.errors import MetricError

Target = str | Sequence[str]
Metric = Callable[[Sequence[Target], Sequence[str]], dict[str, float]]

#: t5's ``string_to_float`` postprocessor gives this for a prediction that is not a number
INVALID_FLOAT = -1.0
#: t5's BLEU: ``sacrebleu.corpus_bleu`` with these arguments
BLEU_ARGS: dict[str, Any] = {"smooth_method": "exp", "smooth_value": 0.0, "force": False, "lowercase": False,
                             "tokenize": "intl", "use_effective_order": False}
EXTRA_HINT = "pip install 'mixlab[eval]'"


# ------------------------------------------------------------------------------------------ inputs
def _check(name: str, targets: Sequence[Target], predictions: Sequence[str]) -> None:
    if len(targets) != len(predictions):
        raise MetricError(f"metric {name!r}: {len(targets)} targets but {len(predictions)} predictions; "
                          f"give one prediction per target")
    if not targets:
        raise MetricError(f"metric {name!r}: no examples to score")
    for i, prediction in enumerate(predictions):
        if not isinstance(prediction, str):
            raise MetricError(f"metric {name!r}: prediction {i} is a {type(prediction).__name__}, not a str")


def _labels(name: str, targets: Sequence[Target], predictions: Sequence[str]) -> list[str]:
    """Targets of a metric that takes one target string per example."""
    _check(name, targets, predictions)
    for i, target in enumerate(targets):
        if not isinstance(target, str):
            raise MetricError(f"metric {name!r}: target {i} is a {type(target).__name__}; this metric takes "
                              f"one target string per example (only squad, rouge and bleu take several)")
    return list(targets)  # type: ignore[arg-type]


def _references(name: str, targets: Sequence[Target], predictions: Sequence[str]) -> list[list[str]]:
    """Each example's reference strings (a plain string is one reference)."""
    _check(name, targets, predictions)
    out = []
    for i, target in enumerate(targets):
        refs = [target] if isinstance(target, str) else list(target)
        if not refs or not all(isinstance(r, str) for r in refs):
            raise MetricError(f"metric {name!r}: target {i} must be a string or a non-empty list of strings, "
                              f"got {target!r:.80}")
        out.append(refs)
    return out


def _import(module: str, package: str, metric: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"metric {metric!r} needs the {package} package: {EXTRA_HINT}") from exc


# --------------------------------------------------------------------------------- label metrics
def accuracy(targets: Sequence[Target], predictions: Sequence[str]) -> dict[str, float]:
    """Percentage of predictions equal to their target string."""
    labels = _labels("accuracy", targets, predictions)
    return {"accuracy": 100.0 * sum(t == p for t, p in zip(labels, predictions)) / len(labels)}


def exact_match(targets: Sequence[Target], predictions: Sequence[str]) -> dict[str, float]:
    """Percentage of predictions that are exactly their target (t5's ``sequence_accuracy``; no normalisation)."""
    labels = _labels("exact_match", targets, predictions)
    return {"exact_match": 100.0 * sum(t == p for t, p in zip(labels, predictions)) / len(labels)}


def _f1_of(tp: int, fp: int, fn: int) -> float:
    denominator = 2 * tp + fp + fn
    return 2 * tp / denominator if denominator else 0.0  # sklearn's zero_division: 0


def binary_f1_for(positive: str, negative: str | None = None) -> Metric:
    """Binary F1 of the ``positive`` label, as t5's ``f1_score_with_invalid``.

    A prediction that is neither ``positive`` nor ``negative`` is invalid and counted wrong (as the
    opposite of its target). With ``negative=None`` every prediction other than ``positive`` is negative.
    """
    def binary_f1(targets: Sequence[Target], predictions: Sequence[str]) -> dict[str, float]:
        labels = _labels("f1", targets, predictions)
        if negative is not None:
            bad = sorted({t for t in labels if t not in (positive, negative)})
            if bad:
                raise MetricError(f"metric 'f1': targets {bad} are neither the positive label {positive!r} "
                                  f"nor the negative {negative!r}")
        tp = fp = fn = 0
        for t, p in zip(labels, predictions):
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
    labels = sorted(set(_labels("f1", targets, predictions)))
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
        truth = _labels("macro_f1", targets, predictions)
        scores = []
        for c in classes:
            tp = sum(t == c and p == c for t, p in zip(truth, predictions))
            fp = sum(t != c and p == c for t, p in zip(truth, predictions))
            fn = sum(t == c and p != c for t, p in zip(truth, predictions))
            scores.append(_f1_of(tp, fp, fn))
        return {"macro_f1": 100.0 * sum(scores) / len(scores)}

    return multiclass_f1


def macro_f1(targets: Sequence[Target], predictions: Sequence[str]) -> dict[str, float]:
    """Macro-averaged F1 (0-100) over the classes present in the targets."""
    return macro_f1_for(_labels("macro_f1", targets, predictions))(targets, predictions)


def matthews_corrcoef(targets: Sequence[Target], predictions: Sequence[str]) -> dict[str, float]:
    """Matthews correlation (0-100 scale, so -100..100) of label strings; sklearn's multi-class formula.

    Predictions that are not a target label all count as one invalid class (t5 maps them to class -1).
    """
    truth = _labels("matthews_corrcoef", targets, predictions)
    known = set(truth)
    said = [p if p in known else None for p in predictions]
    n = len(truth)
    correct = sum(t == p for t, p in zip(truth, said))
    t_sum, p_sum = Counter(truth), Counter(said)
    cov_tp = correct * n - sum(t_sum[k] * p_sum[k] for k in t_sum)
    cov_pp = n * n - sum(v * v for v in p_sum.values())
    cov_tt = n * n - sum(v * v for v in t_sum.values())
    if cov_pp * cov_tt == 0:
        return {"matthews_corrcoef": 0.0}  # sklearn's answer when one side is constant
    return {"matthews_corrcoef": 100.0 * cov_tp / math.sqrt(cov_tt * cov_pp)}


# ------------------------------------------------------------------------------- number metrics
def parse_float(text: str, default: float = INVALID_FLOAT) -> float:
    """``float(text)``, or ``default`` when it is not a number (t5's ``string_to_float`` postprocessor)."""
    try:
        return float(text)
    except ValueError:
        return default


def _numbers(name: str, targets: Sequence[Target], predictions: Sequence[str]) -> tuple[list[float], list[float]]:
    truth = []
    for i, target in enumerate(_labels(name, targets, predictions)):
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
    return max(-1.0, min(1.0, math.fsum(a * b for a, b in zip(dx, dy)) / denominator))


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


# ----------------------------------------------------------------------------------- QA metrics
_PUNCTUATION = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_squad(text: str) -> str:
    """The SQuAD v1.1 answer normalisation: lower case, drop punctuation, then articles, collapse spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _token_f1(target: str, prediction: str) -> float:
    common = Counter(prediction.split()) & Counter(target.split())
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0  # also when both are empty, as SQuAD v1.1 and t5
    precision, recall = num_same / len(prediction.split()), num_same / len(target.split())
    return 2 * precision * recall / (precision + recall)


def squad(targets: Sequence[Target], predictions: Sequence[str]) -> dict[str, float]:
    """SQuAD exact match ``em`` and token ``f1`` (0-100), each the best over an example's references."""
    refs = _references("squad", targets, predictions)
    em = f1_sum = 0.0
    for answers, prediction in zip(refs, predictions):
        said = normalize_squad(prediction)
        gold = [normalize_squad(a) for a in answers]
        em += max(float(g == said) for g in gold)
        f1_sum += max(_token_f1(g, said) for g in gold)
    return {"em": 100.0 * em / len(refs), "f1": 100.0 * f1_sum / len(refs)}


# --------------------------------------------------------------------------- generation metrics
def _rouge_text(summary: str) -> str:
    """t5's ``_prepare_summary``: a newline after each " . " so that rougeLsum sees sentences."""
    return summary.replace(" . ", " .\n")


def rouge_scores(targets: Sequence[Target], predictions: Sequence[str],
                 keys: Sequence[str] = ("rouge1", "rouge2", "rougeLsum"), *, use_stemmer: bool = False,
                 bootstrap_seed: int | None = None) -> dict[str, float]:
    """ROUGE F-measures x 100 with ``rouge-score``, as t5's ``rouge`` (no stemmer, t5's sentence split).

    The score is the mean over examples; ``bootstrap_seed`` instead reports the median of t5's
    1000-sample bootstrap (``BootstrapAggregator``) drawn with that seed (NumPy's global generator is
    restored afterwards). An example with several references scores its best one.
    """
    rouge_scorer = _import("rouge_score.rouge_scorer", "rouge-score", "rouge")
    refs = _references("rouge", targets, predictions)
    scorer = rouge_scorer.RougeScorer(list(keys), use_stemmer=use_stemmer)
    scores = []
    for answers, prediction in zip(refs, predictions):
        if len(answers) == 1:
            scores.append(scorer.score(target=_rouge_text(answers[0]), prediction=_rouge_text(prediction)))
        else:
            scores.append(scorer.score_multi([_rouge_text(a) for a in answers], _rouge_text(prediction)))
    if bootstrap_seed is not None:
        return _bootstrap_mid(scores, keys, bootstrap_seed)
    return {key: 100.0 * math.fsum(s[key].fmeasure for s in scores) / len(scores) for key in keys}


def _bootstrap_mid(scores: list[Any], keys: Sequence[str], seed: int) -> dict[str, float]:
    import numpy as np

    scoring = _import("rouge_score.scoring", "rouge-score", "rouge")
    aggregator = scoring.BootstrapAggregator()
    for score in scores:
        aggregator.add_scores(score)
    state = np.random.get_state()
    np.random.seed(seed)  # BootstrapAggregator draws from the global generator; put it back below
    try:
        result = aggregator.aggregate()
    finally:
        np.random.set_state(state)
    return {key: 100.0 * float(result[key].mid.fmeasure) for key in keys}


def _rouge_metric(keys: tuple[str, ...]) -> Metric:
    def metric(targets: Sequence[Target], predictions: Sequence[str]) -> dict[str, float]:
        return rouge_scores(targets, predictions, keys)

    metric.__name__ = metric.__qualname__ = "rouge" if len(keys) > 1 else keys[0]
    metric.__doc__ = f"ROUGE F-measure x 100 ({', '.join(keys)}), see ``rouge_scores``."
    return metric


rouge = _rouge_metric(("rouge1", "rouge2", "rougeLsum"))


def bleu(targets: Sequence[Target], predictions: Sequence[str]) -> dict[str, float]:
    """Corpus BLEU (0-100) with ``sacrebleu.corpus_bleu`` and t5's arguments (``BLEU_ARGS``: intl tokenizer)."""
    sacrebleu = _import("sacrebleu", "sacrebleu", "bleu")
    refs = _references("bleu", targets, predictions)
    depth = max(len(r) for r in refs)
    # sacrebleu takes reference streams (the k-th reference of every example); None pads a shorter list
    streams = [[r[k] if k < len(r) else None for r in refs] for k in range(depth)]
    return {"bleu": float(sacrebleu.corpus_bleu(list(predictions), streams, **BLEU_ARGS).score)}


# ----------------------------------------------------------------------------------- the table
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
    **{key: _rouge_metric((key,)) for key in ("rouge1", "rouge2", "rougeL", "rougeLsum")},
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
