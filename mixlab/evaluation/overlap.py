"""Metrics of text overlap: SQuAD EM/F1, ROUGE (``rouge-score``) and corpus BLEU (``sacrebleu``)."""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Sequence
from typing import Any

from mixlab.evaluation._inputs import Metric, Target, import_extra, reference_targets

#: t5's BLEU: ``sacrebleu.corpus_bleu`` with these arguments
BLEU_ARGS: dict[str, Any] = {"smooth_method": "exp", "smooth_value": 0.0, "force": False, "lowercase": False,
                             "tokenize": "intl", "use_effective_order": False}


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
    refs = reference_targets("squad", targets, predictions)
    em = f1_sum = 0.0
    for answers, prediction in zip(refs, predictions, strict=True):
        said = normalize_squad(prediction)
        gold = [normalize_squad(a) for a in answers]
        em += max(float(g == said) for g in gold)
        f1_sum += max(_token_f1(g, said) for g in gold)
    return {"em": 100.0 * em / len(refs), "f1": 100.0 * f1_sum / len(refs)}


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
    rouge_scorer = import_extra("rouge_score.rouge_scorer", "rouge-score", "rouge")
    refs = reference_targets("rouge", targets, predictions)
    scorer = rouge_scorer.RougeScorer(list(keys), use_stemmer=use_stemmer)
    scores = []
    for answers, prediction in zip(refs, predictions, strict=True):
        if len(answers) == 1:
            scores.append(scorer.score(target=_rouge_text(answers[0]), prediction=_rouge_text(prediction)))
        else:
            scores.append(scorer.score_multi([_rouge_text(a) for a in answers], _rouge_text(prediction)))
    if bootstrap_seed is not None:
        return _bootstrap_mid(scores, keys, bootstrap_seed)
    return {key: 100.0 * math.fsum(s[key].fmeasure for s in scores) / len(scores) for key in keys}


def _bootstrap_mid(scores: list[Any], keys: Sequence[str], seed: int) -> dict[str, float]:
    import numpy as np

    scoring = import_extra("rouge_score.scoring", "rouge-score", "rouge")
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


def rouge_metric(keys: tuple[str, ...]) -> Metric:
    def metric(targets: Sequence[Target], predictions: Sequence[str]) -> dict[str, float]:
        return rouge_scores(targets, predictions, keys)

    metric.__name__ = metric.__qualname__ = "rouge" if len(keys) > 1 else keys[0]
    metric.__doc__ = f"ROUGE F-measure x 100 ({', '.join(keys)}), see ``rouge_scores``."
    return metric


rouge = rouge_metric(("rouge1", "rouge2", "rougeLsum"))


def bleu(targets: Sequence[Target], predictions: Sequence[str]) -> dict[str, float]:
    """Corpus BLEU (0-100) with ``sacrebleu.corpus_bleu`` and t5's arguments (``BLEU_ARGS``: intl tokenizer)."""
    sacrebleu = import_extra("sacrebleu", "sacrebleu", "bleu")
    refs = reference_targets("bleu", targets, predictions)
    depth = max(len(r) for r in refs)
    # sacrebleu takes reference streams (the k-th reference of every example); None pads a shorter list
    streams = [[r[k] if k < len(r) else None for r in refs] for k in range(depth)]
    return {"bleu": float(sacrebleu.corpus_bleu(list(predictions), streams, **BLEU_ARGS).score)}

