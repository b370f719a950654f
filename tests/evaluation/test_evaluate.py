"""mixlab.evaluate and mixlab eval on a tiny trained WordNet run: predictions written in the split's order,
metrics recomputed from the written file, family and overall averages, postprocessing, resume after a kill."""

from __future__ import annotations

import json
import statistics

import pytest

import mixlab
from mixlab.cli import main
from mixlab.errors import ConfigError, TaskNotFoundError
from mixlab.evaluation import evaluate as ev
from mixlab.evaluation import metrics
from mixlab.evaluation.postprocess import labels, postprocessor_for
from mixlab.evaluation.results import read_results
from mixlab.run_folder import RunFolder

TASKS = ["wordnet/define", "wordnet/pos", "wordnet/supersense"]


@pytest.fixture(scope="module")
def registry():
    return mixlab.load_registry()


def read_lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_evaluate_writes_predictions_and_scores_them(wordnet_run, tmp_path, registry):
    out = tmp_path / "out"
    result = mixlab.evaluate(wordnet_run, tasks=",".join(TASKS), max_examples=12, out_dir=out, registry=registry,
                             progress=False)
    assert sorted(result.tasks) == TASKS and result.step == 40 and result.split == "validation"
    for name in TASKS:
        task, scored = registry.get(name), result.tasks[name]
        lines = read_lines(RunFolder(out).eval_file("validation", name))
        rows = task.load("validation")
        assert [line["index"] for line in lines] == list(range(12))  # the split's first 12 rows, in order
        assert [(line["input"], line["target"]) for line in lines] == [
            (task.format(rows[i])["inputs"], task.format(rows[i])["targets"]) for i in range(12)]
        post = postprocessor_for(task)
        expected = {}
        for metric in task.metrics:
            expected.update(metrics.get(metric)([post(x["target"]) for x in lines], [post(x["prediction"])
                                                                                     for x in lines]))
        assert scored.metrics == pytest.approx(expected) and scored.num_examples == 12
        assert scored.score == pytest.approx(statistics.fmean(expected.values()))
    assert set(result.tasks["wordnet/define"].metrics) == {"bleu", "rouge1", "rouge2", "rougeLsum"}
    scores = {name: result.tasks[name].score for name in TASKS}
    assert result.families == pytest.approx({
        "Classification": (scores["wordnet/pos"] + scores["wordnet/supersense"]) / 2,
        "Generation": scores["wordnet/define"]})
    assert result.overall == pytest.approx(sum(scores.values()) / 3)
    back = read_results(out)["validation"]  # what the report reads
    assert back.tasks == result.tasks and back.families == result.families and back.overall == result.overall
    assert result.metric("accuracy") == pytest.approx((result.tasks["wordnet/pos"].metrics["accuracy"]
                                                       + result.tasks["wordnet/supersense"].metrics["accuracy"]) / 2)
    assert result.metric("wordnet/pos:accuracy") == result.tasks["wordnet/pos"].metrics["accuracy"]


def test_default_tasks_are_the_runs_supervised_mixture_tasks(wordnet_run, tmp_path, registry):
    result = mixlab.evaluate(wordnet_run, max_examples=2, out_dir=tmp_path, registry=registry, progress=False)
    assert len(result.tasks) == 7 and all(r.num_examples == 2 for r in result.tasks.values())
    assert result.skipped == {"wordnet/text": "self-supervised (no targets to score)"}


def test_postprocessing_reaches_both_sides(registry):
    base = registry.get("wordnet/pos")
    plain = base.model_copy(update={"metrics": ("accuracy",)})
    labelled = base.model_copy(update={"metrics": ("accuracy",), "postprocess": labels(["Yes", "No"])})
    examples = [{"inputs": "a", "targets": "Yes"}, {"inputs": "b", "targets": " No"}, {"inputs": "c", "targets": "No"}]
    predictions = [" yes ", "NO", "maybe"]
    assert ev.score_task(plain, examples, predictions, split="validation").metrics == {"accuracy": 0.0}
    assert ev.score_task(labelled, examples, predictions, split="validation").metrics == {"accuracy": 200 / 3}


def test_a_killed_eval_resumes_without_redoing_finished_tasks(wordnet_run, tmp_path, registry, monkeypatch):
    decode = ev._decode
    calls = []

    def killed_after_first_task(model, tokenizer, examples, **options):
        if calls:
            raise KeyboardInterrupt  # the process dies while decoding the second task
        calls.append(examples[0]["inputs"])
        return decode(model, tokenizer, examples, **options)

    out = tmp_path / "out"
    monkeypatch.setattr(ev, "_decode", killed_after_first_task)
    with pytest.raises(KeyboardInterrupt):
        mixlab.evaluate(wordnet_run, tasks=TASKS, max_examples=6, out_dir=out, registry=registry, progress=False)
    folder = RunFolder(out)
    assert folder.eval_summary("validation", TASKS[0]).is_file()
    assert not folder.eval_file("validation", TASKS[1]).exists() and not list(out.rglob(".*tmp*"))

    def counting(model, tokenizer, examples, **options):
        calls.append(examples[0]["inputs"])
        return decode(model, tokenizer, examples, **options)

    calls.clear()
    monkeypatch.setattr(ev, "_decode", counting)
    resumed = mixlab.evaluate(wordnet_run, tasks=TASKS, max_examples=6, out_dir=out, registry=registry,
                              progress=False)
    first_inputs = {name: registry.get(name).examples("validation").__next__()["inputs"] for name in TASKS}
    assert calls == [first_inputs[TASKS[1]], first_inputs[TASKS[2]]]  # the finished task was not decoded again
    straight = mixlab.evaluate(wordnet_run, tasks=TASKS, max_examples=6, out_dir=tmp_path / "straight",
                               registry=registry, progress=False)
    assert resumed.families == straight.families and resumed.overall == straight.overall
    assert {n: r.metrics for n, r in resumed.tasks.items()} == {n: r.metrics for n, r in straight.tasks.items()}
    calls.clear()
    mixlab.evaluate(wordnet_run, tasks=TASKS, max_examples=7, out_dir=out, registry=registry, progress=False)
    assert len(calls) == 3  # other settings: every task is evaluated again
    assert len(read_lines(folder.eval_file("validation", TASKS[0]))) == 7


def test_task_selection_errors_name_the_fix(registry):
    with pytest.raises(ConfigError, match=r"pattern 'nope/\*' matches no registered task"):
        ev.select_tasks("nope/*", registry, "validation")
    with pytest.raises(ConfigError, match=r"'wordnet/pos' cannot be evaluated on 'test': no 'test' split"):
        ev.select_tasks("wordnet/pos", registry, "test")
    with pytest.raises(TaskNotFoundError):
        ev.select_tasks("wordnet/poss", registry, "validation")
    chosen, skipped = ev.select_tasks("wordnet/*", registry, "validation")
    assert len(chosen) == 7 and skipped == {"wordnet/text": "self-supervised (no targets to score)"}


def test_mixlab_eval_prints_per_task_metrics(wordnet_run, tmp_path, capsys):
    argv = ["eval", str(wordnet_run), "--tasks", "wordnet/pos,wordnet/antonym", "--max-examples", "8",
            "--out", str(tmp_path), "--no-progress"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "eval on 'validation' at step 40: 2 task(s)" in text
    pos = next(line for line in text.splitlines() if line.startswith("wordnet/pos"))
    assert "Classification" in pos and "accuracy" in pos and " 8 " in pos
    assert "overall (mean over tasks)" in text
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert sorted(data["tasks"]) == ["wordnet/antonym", "wordnet/pos"] and data["step"] == 40
    assert set(data["tasks"]["wordnet/pos"]["metrics"]) == {"accuracy"}
    assert main(["eval", str(tmp_path / "missing")]) == 1
    assert "error:" in capsys.readouterr().err


def test_scores_of_known_predictions(wordnet_run, tmp_path, registry, monkeypatch):
    """Every even example answered with its target, every odd one with 'none': accuracy 50, averages by hand."""

    def half_right(model, tokenizer, examples, **options):
        return [ex["targets"] if i % 2 == 0 else "none" for i, ex in enumerate(examples)]

    monkeypatch.setattr(ev, "_decode", half_right)
    result = mixlab.evaluate(wordnet_run, tasks=["wordnet/pos", "wordnet/antonym", "wordnet/supersense"],
                             max_examples=10, out_dir=tmp_path, registry=registry, progress=False)
    assert result.tasks["wordnet/pos"].metrics == {"accuracy": 50.0}
    assert result.tasks["wordnet/antonym"].metrics == {"exact_match": 50.0}
    supersense = result.tasks["wordnet/supersense"]
    targets = [registry.get("wordnet/supersense").format(r)["targets"]
               for r in list(registry.get("wordnet/supersense").load("validation"))[:10]]
    assert supersense.metrics["accuracy"] == 50.0
    assert supersense.metrics["macro_f1"] == pytest.approx(metrics.macro_f1(targets, [
        t if i % 2 == 0 else "none" for i, t in enumerate(targets)])["macro_f1"])
    classification = (50.0 + (50.0 + supersense.metrics["macro_f1"]) / 2) / 2
    assert result.families == pytest.approx({"Classification": classification, "Semantic relations": 50.0})
    assert result.overall == pytest.approx((50.0 + 50.0 + (50.0 + supersense.metrics["macro_f1"]) / 2) / 3)
