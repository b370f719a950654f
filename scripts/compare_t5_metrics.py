"""Print t5.evaluation.metrics next to mixlab.evaluation.metrics on the same seeded fixtures.

t5 is not a dependency of mixlab; run this in an environment of its own. ``t5/__init__.py`` imports
TensorFlow, seqio and mesh-tensorflow, none of which the metric code needs, so the script loads
``t5/evaluation/metrics.py`` and ``qa_utils.py`` (t5's own files) without running that ``__init__``;
the metric code's own imports (absl, editdistance, scikit-learn, scipy, rouge-score, sacrebleu) are
installed for real::

    python -m venv .venv-t5
    .venv-t5/bin/pip install --no-deps t5==0.9.4
    .venv-t5/bin/pip install absl-py editdistance scikit-learn scipy rouge-score sacrebleu -e .
    .venv-t5/bin/python scripts/compare_t5_metrics.py [--seed 0] [--num-examples 500]

t5 is given what its postprocessors would give it: class ids (``string_label_to_class_id``, -1 for an
unknown label) for F1, macro F1 and Matthews, floats (``string_to_float``, -1 when unparsable) for the
correlations, and lists of answers for SQuAD. ROUGE differs on purpose: t5 reports the median of an
unseeded bootstrap, mixlab the mean; the rows "rouge (t5, seed s)" and "rouge_scores(bootstrap_seed=s)"
run the same bootstrap with the same seed and must agree exactly.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import random
import sys
import types
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mixlab.evaluation import metrics as mx  # after the path tweak, to run from a checkout

WORDS = ("the a an cat dog cats dogs sat sleeps ran barked on mat park big small red green quickly slowly "
         "and of in to new york city rome paris river mountain , ! ?").split()


def load_t5() -> types.ModuleType:
    """t5.evaluation.metrics, with empty ``t5`` and ``t5.evaluation`` packages standing in for theirs."""
    spec = importlib.util.find_spec("t5")  # finds the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        sys.exit("t5 is not installed here; see this script's docstring")
    root = Path(next(iter(spec.submodule_search_locations)))
    for name, path in (("t5", root), ("t5.evaluation", root / "evaluation")):
        package = types.ModuleType(name)
        package.__path__ = [str(path)]
        sys.modules[name] = package
    return importlib.import_module("t5.evaluation.metrics")


def sentence(rng: random.Random, low: int = 1, high: int = 12) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


def edit(rng: random.Random, text: str) -> str:
    """A noisy copy: drop, swap or replace some words (so scores land between 0 and 100)."""
    words = text.split()
    out = [w if rng.random() > 0.3 else rng.choice(WORDS) for w in words if rng.random() > 0.15]
    if len(out) > 2 and rng.random() < 0.3:
        i = rng.randrange(len(out) - 1)
        out[i], out[i + 1] = out[i + 1], out[i]
    return " ".join(out) or rng.choice(WORDS)


def fixtures(seed: int, n: int) -> dict[str, tuple[list, list]]:
    rng = random.Random(seed)
    labels = ["entailment", "neutral", "contradiction"]
    binary = ["not_equivalent", "equivalent"]
    cls_t = [rng.choice(labels) for _ in range(n)]
    cls_p = [t if rng.random() < 0.6 else rng.choice(labels + ["garbage"]) for t in cls_t]
    bin_t = [rng.choice(binary) for _ in range(n)]
    bin_p = [t if rng.random() < 0.7 else rng.choice(binary + ["maybe"]) for t in bin_t]
    num_t = [f"{rng.uniform(0, 5):.1f}" for _ in range(n)]
    num_p = [f"{float(t) + rng.gauss(0, 1):.1f}" if rng.random() > 0.05 else "n/a" for t in num_t]
    refs = [[sentence(rng, 1, 4) for _ in range(rng.randint(1, 3))] for _ in range(n)]
    answers = [rng.choice(r) if rng.random() < 0.4 else edit(rng, rng.choice(r)) for r in refs]
    docs = [" . ".join(sentence(rng, 4, 12) for _ in range(rng.randint(1, 4))) + " ." for _ in range(n)]
    summaries = [" . ".join(edit(rng, s) for s in d.rstrip(" .").split(" . ")) + " ." for d in docs]
    return {"labels": (cls_t, cls_p), "binary": (bin_t, bin_p), "numbers": (num_t, num_p),
            "qa": (refs, answers), "text": (docs, summaries)}


def rows(t5: types.ModuleType, data: dict[str, tuple[list, list]]) -> list[tuple[str, float, float]]:
    cls_t, cls_p = data["labels"]
    classes = sorted(set(cls_t))
    ids = lambda xs, names: [names.index(x) if x in names else -1 for x in xs]  # noqa: E731
    bin_t, bin_p = data["binary"]
    num_t, num_p = data["numbers"]
    floats = lambda xs: [mx.parse_float(x) for x in xs]  # noqa: E731  (the same rule as t5's string_to_float)
    refs, answers = data["qa"]
    docs, summaries = data["text"]
    mcc = t5.sklearn_metrics_wrapper("matthews_corrcoef", metric_post_process_fn=lambda x: 100 * x)
    out = [
        ("accuracy", t5.accuracy(cls_t, cls_p)["accuracy"], mx.accuracy(cls_t, cls_p)["accuracy"]),
        ("exact_match / sequence_accuracy", t5.sequence_accuracy(cls_t, cls_p)["sequence_accuracy"],
         mx.exact_match(cls_t, cls_p)["exact_match"]),
        ("f1 / f1_score_with_invalid", t5.f1_score_with_invalid(ids(bin_t, binary := ["not_equivalent", "equivalent"]),
                                                                ids(bin_p, binary))["f1"], mx.f1(bin_t, bin_p)["f1"]),
        ("macro_f1 / mean_3class_f1", t5.mean_multiclass_f1(3)(ids(cls_t, classes), ids(cls_p, classes))
         ["mean_3class_f1"], mx.macro_f1(cls_t, cls_p)["macro_f1"]),
        ("matthews_corrcoef", mcc(ids(cls_t, classes), ids(cls_p, classes))["matthews_corrcoef"],
         mx.matthews_corrcoef(cls_t, cls_p)["matthews_corrcoef"]),
        ("matthews_corrcoef (binary)", mcc(ids(bin_t, binary), ids(bin_p, binary))["matthews_corrcoef"],
         mx.matthews_corrcoef(bin_t, bin_p)["matthews_corrcoef"]),
        ("pearson_corrcoef", t5.pearson_corrcoef(floats(num_t), floats(num_p))["pearson_corrcoef"],
         mx.pearson_corrcoef(num_t, num_p)["pearson_corrcoef"]),
        ("spearman_corrcoef", t5.spearman_corrcoef(floats(num_t), floats(num_p))["spearman_corrcoef"],
         mx.spearman_corrcoef(num_t, num_p)["spearman_corrcoef"]),
    ]
    t5_squad, ours = t5.squad(refs, answers), mx.squad(refs, answers)
    out += [(f"squad {k}", t5_squad[k], ours[k]) for k in ("em", "f1")]
    out.append(("bleu", t5.bleu(docs, summaries)["bleu"], mx.bleu(docs, summaries)["bleu"]))
    mean = mx.rouge(docs, summaries)
    for seed in (0, 1):
        np.random.seed(seed)
        t5_rouge = t5.rouge(docs, summaries)
        ours = mx.rouge_scores(docs, summaries, bootstrap_seed=seed)
        out += [(f"{k} (t5, seed {seed}) vs rouge_scores(bootstrap_seed={seed})", t5_rouge[k], ours[k])
                for k in ours]
        out += [(f"{k} (t5, seed {seed}) vs mixlab mean", t5_rouge[k], mean[k]) for k in mean]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num-examples", type=int, default=500)
    args = parser.parse_args()
    t5 = load_t5()
    width = 70
    print(f"{'metric':<{width}} {'t5':>12} {'mixlab':>12} {'diff':>10}")
    for name, theirs, ours in rows(t5, fixtures(args.seed, args.num_examples)):
        print(f"{name:<{width}} {float(theirs):12.6f} {ours:12.6f} {ours - float(theirs):10.2e}")


if __name__ == "__main__":
    main()
