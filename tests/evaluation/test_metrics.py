"""mixlab.evaluation.metrics against numbers counted by hand or by the metric's formula (never by mixlab).

Each expected value is written as the arithmetic that gives it, from counts made in the comment above it.
"""

import math
import subprocess
import sys

import numpy as np
import pytest
import scipy.stats

import mixlab
from mixlab.errors import MetricError, MixlabError, TaskSpecError
from mixlab.evaluation import metrics as M


def approx(value):
    return pytest.approx(value, rel=1e-9, abs=1e-9)


# ----------------------------------------------------------------------------- labels
def test_accuracy_and_exact_match_count_equal_strings():
    assert M.get("accuracy")(["a", "b", "c", "d"], ["a", "b", "c", "x"]) == {"accuracy": 75.0}
    # exact_match is t5's sequence_accuracy: no normalisation, so case matters
    assert M.get("exact_match")(["Paris", "rome"], ["paris", "rome"]) == {"exact_match": 50.0}


def test_binary_f1_counts_invalid_predictions_as_wrong():
    targets = ["equivalent"] * 3 + ["not_equivalent"] * 3
    predictions = ["equivalent", "equivalent", "not_equivalent", "equivalent", "not_equivalent", "junk"]
    # tp = 2; fn = 1 (3rd); fp = 1 (4th) + 1 (6th: invalid, counted as the opposite of its negative target)
    assert M.get("f1")(targets, predictions) == {"f1": approx(100 * 2 * 2 / (2 * 2 + 2 + 1))}
    # the explicit form gives the same, and treats the pair the same way
    assert M.binary_f1_for("equivalent", "not_equivalent")(targets, predictions) == M.f1(targets, predictions)
    # invalid for a positive target is a miss: tp 0, fn 1, fp 0 -> 0
    assert M.f1(["equivalent", "not_equivalent"], ["junk", "not_equivalent"]) == {"f1": 0.0}


@pytest.mark.parametrize("negative, positive", [
    ("False", "True"), ("0", "1"), ("no", "yes"), ("not relevant", "relevant"), ("non_irony", "irony"),
    ("unacceptable", "acceptable"), ("not_duplicate", "duplicate"), ("negative", "positive"),
])
def test_binary_f1_reads_the_positive_label(negative, positive):
    targets = [positive, positive, negative, negative]
    predictions = [positive, negative, positive, negative]  # tp 1, fn 1, fp 1 -> 2/4
    assert M.f1(targets, predictions) == {"f1": 50.0}
    assert M.f1([negative, negative], [positive, negative]) == {"f1": 0.0}  # no positive target
    assert M.f1([positive, positive], [positive, negative]) == {"f1": approx(100 * 2 / 3)}  # tp 1, fn 1


def test_binary_f1_refuses_labels_it_cannot_order():
    with pytest.raises(MetricError, match=r"cannot tell which of the target labels \['cat', 'dog'\].*binary_f1_for"):
        M.f1(["cat", "dog"], ["cat", "cat"])
    with pytest.raises(MetricError, match="use 'macro_f1'"):
        M.f1(["a", "b", "c"], ["a", "b", "c"])
    assert M.binary_f1_for("dog")(["cat", "dog"], ["dog", "dog"]) == {"f1": approx(100 * 2 / 3)}


def test_macro_f1_from_per_class_counts():
    targets = ["a", "a", "b", "b", "c", "c"]
    predictions = ["a", "b", "b", "b", "c", "x"]
    # a: tp 1 fp 0 fn 1 -> 2/3; b: tp 2 fp 1 fn 0 -> 4/5; c: tp 1 fp 0 fn 1 (x is invalid) -> 2/3
    expected = 100 * (2 / 3 + 4 / 5 + 2 / 3) / 3
    assert M.get("macro_f1")(targets, predictions) == {"macro_f1": approx(expected)}
    assert M.get("mean_multiclass_f1") is M.get("macro_f1")
    # a declared class that never occurs adds a zero to the mean (t5's mean_multiclass_f1 with num_classes=4)
    assert M.macro_f1_for(["a", "b", "c", "d"])(targets, predictions) == {"macro_f1": approx(expected * 3 / 4)}


def test_matthews_from_a_2x2_table():
    # TP 3, FN 2, FP 1, TN 4 with "acceptable" positive
    targets = ["acceptable"] * 5 + ["unacceptable"] * 5
    predictions = ["acceptable"] * 3 + ["unacceptable"] * 2 + ["acceptable"] + ["unacceptable"] * 4
    tp, tn, fp, fn = 3, 4, 1, 2
    expected = (tp * tn - fp * fn) / math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    assert M.get("matthews_corr")(targets, predictions) == {"matthews_corrcoef": approx(100 * expected)}
    assert M.matthews_corrcoef(targets, ["acceptable"] * 10) == {"matthews_corrcoef": 0.0}  # constant
    assert M.matthews_corrcoef(["a", "b"], ["b", "a"]) == {"matthews_corrcoef": -100.0}


def test_matthews_lumps_invalid_predictions_into_one_class():
    # t5 maps every unknown label to class -1. Classes a, b, invalid: n 4, correct 2,
    # true counts a 2 b 2, predicted a 1 b 1 invalid 2 -> cov_tp 2*4-(2+2)=4, cov_pp 16-6=10, cov_tt 16-8=8
    result = M.matthews_corrcoef(["a", "b", "a", "b"], ["a", "b", "x", "y"])
    assert result == {"matthews_corrcoef": approx(100 * 4 / math.sqrt(10 * 8))}


# ----------------------------------------------------------------------------- numbers
def test_pearson_and_spearman_by_formula_and_scipy():
    x, y = [1, 2, 3, 4], [2, 4, 5, 9]
    # dx -1.5 -.5 .5 1.5, dy -3 -1 0 4: sxy 11, sxx 5, syy 26
    result = M.get("pearson")([str(v) for v in x], [str(v) for v in y])
    assert result == {"pearson_corrcoef": approx(100 * 11 / math.sqrt(5 * 26))}
    assert result["pearson_corrcoef"] == approx(100 * scipy.stats.pearsonr(x, y)[0])
    # ties: y ranks 1, 4, 2.5, 2.5, 5 against 1..5: sxy 6.5, sxx 10, syy 9.5
    x, y = [1, 2, 3, 4, 5], [1, 3, 2, 2, 5]
    result = M.get("spearman")([str(v) for v in x], [str(v) for v in y])
    assert result == {"spearman_corrcoef": approx(100 * 6.5 / math.sqrt(10 * 9.5))}
    assert result["spearman_corrcoef"] == approx(100 * scipy.stats.spearmanr(x, y)[0])


def test_correlations_read_an_unparsable_prediction_as_minus_one():
    # t5's string_to_float postprocessor: y = 1, -1, 3; dx -1 0 1, dy 0 -2 2 -> 2 / sqrt(2 * 8)
    assert M.pearson_corrcoef(["1", "2", "3"], ["1", "two", "3"]) == {"pearson_corrcoef": approx(50.0)}
    assert M.parse_float(" 2.5 ") == 2.5 and M.parse_float("n/a") == -1.0
    with pytest.raises(MetricError, match=r"target 1 \('x'\) is not a number"):
        M.spearman_corrcoef(["1", "x"], ["1", "2"])
    assert math.isnan(M.pearson_corrcoef(["1", "2"], ["3", "3"])["pearson_corrcoef"])  # constant: nan, as scipy


# ----------------------------------------------------------------------------- SQuAD
def test_squad_normalisation():
    assert M.normalize_squad("  The Cat, sat!  ") == "cat sat"
    assert M.normalize_squad("An apple a day") == "apple day"
    assert M.normalize_squad("the-end") == "theend"  # punctuation goes first, so no article is left


def test_squad_em_and_f1_counted_by_hand():
    targets = ["The Cat sat.", "a red apple", ["New York City", "NYC"], ["Rome", "Roma"]]
    predictions = ["cat sat", "red apples and pears", "new york", "roma!"]
    # 1: equal after normalisation (em 1, f1 1)
    # 2: "red apple" vs red apples and pears: 1 common token, P 1/4, R 1/2 -> F1 1/3
    # 3: best reference "new york city": 2 common, P 1, R 2/3 -> 4/5; "nyc": 0
    # 4: "roma" matches the second reference
    result = M.get("squad")(targets, predictions)
    assert result == {"em": 50.0, "f1": approx(100 * (1 + 1 / 3 + 4 / 5 + 1) / 4)}


def test_squad_empty_after_normalisation_is_an_exact_match_with_f1_zero():
    assert M.squad(["the"], ["a"]) == {"em": 100.0, "f1": 0.0}  # as t5 and the SQuAD v1.1 script


# ----------------------------------------------------------------------------- ROUGE
ROUGE_TARGETS = ["the cat sat on the mat", "cats sleep . dogs bark"]
ROUGE_PREDICTIONS = ["the cat lay on the mat", "dogs bark . cats sleep"]


def test_rouge_counted_by_hand():
    # 1: unigrams the x2, cat, on, mat = 5 of 6 each side; bigrams the cat, on the, the mat = 3 of 5;
    #    LCS the cat on the mat = 5 of 6 (one sentence, so rougeLsum = rougeL)
    # 2: all 4 unigrams; bigrams cats sleep, dogs bark = 2 of 3; t5's " . " split gives two sentences
    #    each side, each found whole in the other summary: rougeLsum 4 of 4 (rougeL only 2 of 4)
    result = M.get("rouge")(ROUGE_TARGETS, ROUGE_PREDICTIONS)
    assert result == {"rouge1": approx(100 * (5 / 6 + 1) / 2), "rouge2": approx(100 * (3 / 5 + 2 / 3) / 2),
                      "rougeLsum": approx(100 * (5 / 6 + 1) / 2)}
    assert M.get("rougeL")(ROUGE_TARGETS[1:], ROUGE_PREDICTIONS[1:]) == {"rougeL": approx(50.0)}
    assert M.get("rougeLsum")(ROUGE_TARGETS[1:], ROUGE_PREDICTIONS[1:]) == {"rougeLsum": approx(100.0)}
    assert M.get("rouge2")(ROUGE_TARGETS, ROUGE_PREDICTIONS) == {"rouge2": result["rouge2"]}


def test_rouge_does_not_stem_like_t5():
    assert M.rouge(["cats"], ["cat"])["rouge1"] == 0.0
    assert M.rouge_scores(["cats"], ["cat"], ["rouge1"], use_stemmer=True) == {"rouge1": 100.0}


def test_rouge_several_references_score_the_best():
    assert M.get("rouge1")([["dogs bark", "cats sleep"]], ["cats sleep"]) == {"rouge1": 100.0}


def test_rouge_bootstrap_is_seeded_and_leaves_numpy_alone():
    targets = ["a b c d", "a b", "c d e", "x y"] * 5
    predictions = ["a b c", "a", "c d e", "z"] * 5
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    first = M.rouge_scores(targets, predictions, bootstrap_seed=0)
    assert np.array_equal(np.random.get_state()[1], before)
    assert M.rouge_scores(targets, predictions, bootstrap_seed=0) == first
    mean = M.rouge(targets, predictions)
    for key, value in first.items():  # the bootstrap median sits close to the mean it estimates
        assert abs(value - mean[key]) < 5


# ----------------------------------------------------------------------------- BLEU
def test_bleu_by_the_formula():
    # hyp "the cat sat on the mat" vs ref "the cat sat on a mat": n-gram matches 5/6, 3/5, 2/4, 1/3
    one = M.get("bleu")(["the cat sat on a mat"], ["the cat sat on the mat"])
    assert one == {"bleu": approx(100 * (5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25)}
    # add hyp "hello there" vs ref "hello there general kenobi": corpus counts 7/8, 4/6, 2/4, 1/3;
    # hypothesis length 8 < reference length 10: brevity penalty exp(1 - 10/8)
    two = M.bleu(["the cat sat on a mat", "hello there general kenobi"], ["the cat sat on the mat", "hello there"])
    expected = math.exp(1 - 10 / 8) * (7 / 8 * 4 / 6 * 2 / 4 * 1 / 3) ** 0.25
    assert two == {"bleu": approx(100 * expected)}


def test_bleu_uses_t5s_arguments_and_reference_streams():
    assert M.BLEU_ARGS == {"smooth_method": "exp", "smooth_value": 0.0, "force": False, "lowercase": False,
                           "tokenize": "intl", "use_effective_order": False}
    assert M.bleu([["the cat sat on a mat", "the cat sat on the mat"]], ["the cat sat on the mat"]) == \
        {"bleu": approx(100.0)}
    # several references per example, of different numbers
    assert M.bleu([["x y z w", "the cat sat on the mat"], "hello there general kenobi"],
                  ["the cat sat on the mat", "hello there general kenobi"]) == {"bleu": approx(100.0)}


# ----------------------------------------------------------------------------- names and errors
def test_names_and_aliases():
    for name in ("accuracy", "squad", "rouge", "bleu", "matthews_corrcoef", "pearson_corrcoef",
                 "spearman_corrcoef", "f1", "macro_f1", "exact_match", "rouge1", "rouge2", "rougeL"):
        assert name in M.names()
    assert M.get("pearson") is M.get("pearson_corrcoef")
    assert M.get("spearman") is M.get("spearman_corrcoef")
    assert M.get("binary_f1") is M.get("f1")


def test_unknown_metric_names_the_close_ones_and_all():
    with pytest.raises(MetricError, match=r"unknown metric 'rogue'; did you mean 'rouge'.*\(known: accuracy, "):
        M.get("rogue")
    with pytest.raises(MetricError, match=r"did you mean 'rouge'"):
        M.get("ROUGE")
    with pytest.raises(MetricError, match=r"^unknown metric 'nope' \(known: "):
        M.get("nope")
    assert issubclass(MetricError, MixlabError) and issubclass(MetricError, ValueError)


def test_an_unknown_metric_fails_task_construction():
    with pytest.raises(TaskSpecError, match=r"metrics: unknown metric 'acuracy'; did you mean 'accuracy'.*"
                                            r"fix: name metrics that mixlab.evaluation.metrics.names\(\) lists"):
        mixlab.Task(name="demo/x", family="Demo", collection="demo", num_examples={"train": 1},
                    source=mixlab.CallableSource(fn=lambda split: []), formatter=lambda row: row,
                    metrics=("accuracy", "acuracy"))


def test_bad_inputs_raise_metric_errors():
    with pytest.raises(MetricError, match="metric 'accuracy': 2 targets but 1 predictions"):
        M.accuracy(["a", "b"], ["a"])
    with pytest.raises(MetricError, match="metric 'accuracy': no examples to score"):
        M.accuracy([], [])
    with pytest.raises(MetricError, match="target 0 is a list; this metric takes one target string"):
        M.accuracy([["a", "b"]], ["a"])
    with pytest.raises(MetricError, match="prediction 0 is a NoneType, not a str"):
        M.squad(["a"], [None])


@pytest.mark.parametrize("metric, modules, package", [
    ("rouge", ("rouge_score", "rouge_score.rouge_scorer", "rouge_score.scoring"), "rouge-score"),
    ("rougeL", ("rouge_score", "rouge_score.rouge_scorer", "rouge_score.scoring"), "rouge-score"),
    ("bleu", ("sacrebleu",), "sacrebleu"),
])
def test_a_missing_extra_is_named(monkeypatch, metric, modules, package):
    for module in modules:
        monkeypatch.setitem(sys.modules, module, None)  # as if not installed: importing it raises
    name = "rouge" if metric.startswith("rouge") else metric
    with pytest.raises(ImportError, match=rf"^metric '{name}' needs the {package} package: "
                                          r"pip install 'mixlab\[eval\]'$") as info:
        M.get(metric)(["a b"], ["a b"])
    assert isinstance(info.value.__cause__, ImportError)


def test_importing_the_metrics_loads_no_metric_package():
    code = ("import sys, mixlab, mixlab.evaluation.metrics as m; m.names(); m.get('rouge'); mixlab.load_registry(); "
            "print(sorted(k for k in ('rouge_score', 'sacrebleu', 'nltk', 'numpy', 'scipy') if k in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "rouge_score" not in out and "sacrebleu" not in out and "nltk" not in out


# ----------------------------------------------------------------------------- installed tasks
def test_every_installed_task_names_known_metrics():
    registry = mixlab.load_registry()
    used = {m for name in registry.names() for m in registry.get(name).metrics}
    assert used, "no installed task declares a metric"
    unknown = sorted(used - set(M.names()))
    assert not unknown, f"installed tasks name unknown metrics {unknown}"


def test_the_exmix_catalog_names_known_metrics():
    mixlab_exmix = pytest.importorskip("mixlab_exmix")
    import csv
    from pathlib import Path

    with open(Path(mixlab_exmix.__file__).parent / "catalog.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 107
    bad = {r["name"]: m for r in rows for m in r["metrics"].split(";") if m not in M.names()}
    assert not bad


def test_wordnet_metrics_score_perfect_predictions_perfectly():
    """Each WordNet task's metrics run on its real validation targets; predicting them scores 100."""
    pytest.importorskip("mixlab_wordnet")
    registry = mixlab.load_registry()
    for name in registry.names():
        task = registry.get(name)
        if "wordnet" not in task.tags or task.self_supervised:
            continue
        targets = [ex["targets"] for ex in task.examples("validation")][:50]
        # ROUGE-2 of a one-word target is 0 (no bigram on either side), so keep targets of two or more words
        targets = [t for t in targets if len(t.split()) >= 2] or targets
        for metric in task.metrics:
            for key, value in M.get(metric)(targets, targets).items():
                assert value == pytest.approx(100.0), (name, metric, key)
