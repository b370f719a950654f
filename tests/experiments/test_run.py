"""A tiny co-training experiment end to end: runs, the results table, cotraining.csv, rerun, report."""

from __future__ import annotations

import csv
import json
import math

import pytest
import torch

from mixlab.cli import main
from mixlab.experiments import ResultsTable, run_experiment
from mixlab.experiments.execute import RESULT
from tests.experiments.helpers import tiny_cotrain, write_spec


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cotrain")
    spec = write_spec(folder, tiny_cotrain())
    result = run_experiment(spec, folder / "out", workers=1, progress=False)
    return spec, folder / "out", result


def test_every_run_finishes_and_is_recorded_once(experiment):
    _, out, result = experiment
    assert result.ok and not result.skipped and len(result.executed) == len(result.plan.runs) == 8
    rows = ResultsTable(out).rows()
    assert [r["status"] for r in rows] == ["done"] * 8 and all(r["attempts"] == 1 for r in rows)
    trained = [r for r in rows if r["kind"] == "pretrain"]
    assert sorted(r["key"] for r in trained) == ["alone/CLS/s0", "alone/SEM/s0", "pair/CLS+SEM/s0"]
    assert all(r["steps"] == 4 and r["tokens"] > 0 and r["metric_source"] == "train_log" for r in trained)
    evals = [r for r in rows if r["kind"] == "eval"]
    assert all(r["metric_source"] == "teacher_forced" for r in evals)
    assert {r["key"]: r["steps"] for r in evals}["eval/alone/CLS/s0/data"] == 2  # scored at the data budget


def test_cotraining_csv_is_the_table_mixlab_affinity_reads(experiment, capsys):
    _, out, _ = experiment
    with (out / "cotraining.csv").open(newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == ["source", "target", "score", "budget"]
        rows = list(reader)
    assert [(r["source"], r["target"], r["budget"]) for r in rows] == [
        ("CLS", "CLS", "data-2"), ("CLS", "CLS", "compute-4"), ("SEM", "SEM", "data-2"), ("SEM", "SEM", "compute-4"),
        ("CLS", "SEM", "cotrain-4"), ("SEM", "CLS", "cotrain-4")]
    table = {r["key"]: r for r in ResultsTable(out).rows()}

    def accuracy(key, task):
        return table[key]["metrics"]["tasks"][task]["eval_accuracy"]

    score = {(r["source"], r["target"], r["budget"]): float(r["score"]) for r in rows}
    assert math.isclose(score[("CLS", "CLS", "data-2")], accuracy("eval/alone/CLS/s0/data", "wordnet/pos"),
                        abs_tol=1e-6)
    assert math.isclose(score[("SEM", "CLS", "cotrain-4")], accuracy("eval/pair/CLS+SEM/s0", "wordnet/pos"),
                        abs_tol=1e-6)
    assert math.isclose(score[("CLS", "SEM", "cotrain-4")], accuracy("eval/pair/CLS+SEM/s0", "wordnet/antonym"),
                        abs_tol=1e-6)
    assert main(["affinity", str(out / "cotraining.csv"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert set(summary["average_gain"]) == {"CLS", "SEM"}
    assert (out / "cotraining.png").stat().st_size > 10_000
    proposal = json.loads((out / "proposed_mixture.json").read_text())
    assert proposal["name"] == "cotrain-proposal" and len(proposal["tasks"]) == 1


def test_teacher_forced_scores_match_a_plain_forward_pass(experiment):
    """The packed, batched scorer against HF T5 on one example at a time (the same first 8 examples)."""
    import itertools

    import mixlab
    from mixlab.experiments.scoring import load_model
    from mixlab.train.config import PretrainConfig

    _, out, result = experiment
    run = result.plan.run("alone/SEM/s0")
    config = PretrainConfig(**run.config)
    tokenizer = mixlab.load_tokenizer(config.tokenizer)
    t5 = load_model(run.folder(out) / "checkpoints" / "step_0000004", config, tokenizer.vocab_size).t5
    task = mixlab.load_registry().get("wordnet/antonym")
    stream = mixlab.Mixture.from_strategy([task], {"kind": "uniform"}, name="x").stream(
        seed=0, split="validation", exhaustion="first")
    total = correct = count = 0.0
    for example in itertools.islice(stream, 8):
        inputs = tokenizer.encode(example["inputs"])[: config.input_length - 1] + [tokenizer.eos_id]
        targets = tokenizer.encode(example["targets"])[: config.target_length - 1] + [tokenizer.eos_id]
        with torch.no_grad():
            logits = t5(input_ids=torch.tensor([inputs]), labels=torch.tensor([targets])).logits[0]
        total += float(torch.nn.functional.cross_entropy(logits, torch.tensor(targets), reduction="sum"))
        correct += float((logits.argmax(-1) == torch.tensor(targets)).sum())
        count += len(targets)
    scored = {r["key"]: r for r in ResultsTable(out).rows()}["eval/alone/SEM/s0"]["metrics"]["tasks"]
    assert scored["wordnet/antonym"]["eval_tokens"] == count
    assert math.isclose(scored["wordnet/antonym"]["eval_loss"], total / count, rel_tol=1e-4)
    assert math.isclose(scored["wordnet/antonym"]["eval_accuracy"], correct / count, rel_tol=1e-6)


def test_a_rerun_skips_every_finished_run(experiment):
    spec, out, first = experiment
    stamps = {h: (out / "runs" / h / RESULT).stat().st_mtime_ns for h in first.executed}
    again = run_experiment(spec, out, workers=1, progress=False)
    assert again.ok and again.executed == [] and sorted(again.skipped) == sorted(first.executed)
    assert {h: (out / "runs" / h / RESULT).stat().st_mtime_ns for h in first.executed} == stamps
    assert all(r["attempts"] == 1 for r in ResultsTable(out).rows())


def test_status_report_and_dry_run(experiment, capsys):
    spec, out, result = experiment
    assert main(["experiment", "status", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "experiment 'tiny-cotrain' (cotrain)" in printed and "8 done" in printed
    assert "eval/pair/CLS+SEM/s0  (eval_accuracy " in printed
    assert main(["experiment", "report", str(out)]) == 0
    page = (out / "report.html").read_text()
    assert page.count("<img") >= 2 and "cotraining.csv" in page and "table2.csv" in page
    assert all(run.hash in page for run in result.plan.runs)
    assert main(["experiment", "run", str(spec), "--out", str(out / "unused"), "--dry-run"]) == 0
    assert "8 runs: 3 pretrain, 0 finetune, 5 eval" in capsys.readouterr().out
    assert not (out / "unused").exists()


@pytest.mark.slow  # starts a fresh worker process (about 15 s on 2 cores)
def test_a_done_run_whose_checkpoint_was_damaged_runs_again_from_its_last_good_one(experiment):
    spec, out, result = experiment
    pair = result.plan.run("pair/CLS+SEM/s0")
    model = pair.folder(out) / "checkpoints" / "step_0000004" / "model.pt"
    model.write_bytes(model.read_bytes()[:100])
    with pytest.warns(UserWarning, match=r"is done in the table but its folder does not verify .*model\.pt"):
        again = run_experiment(spec, out, workers=1, progress=False)
    assert again.executed == [pair.hash]  # its eval stays: the resumed run ends with the same weights
    rerun = json.loads((pair.folder(out) / RESULT).read_text())
    assert rerun["resumed_from_step"] == 2  # the damaged step-4 checkpoint is skipped
    assert {r["hash"]: r for r in ResultsTable(out).rows()}[pair.hash]["attempts"] == 2
    assert run_experiment(spec, out, workers=1, progress=False).executed == []


def test_a_failed_run_is_recorded_with_its_error_and_blocks_its_children(tmp_path, capsys):
    spec = write_spec(tmp_path, tiny_cotrain(start={"checkpoint": "no/such/checkpoint"}))
    result = run_experiment(spec, tmp_path / "out", workers=1, progress=False)
    assert not result.ok and result.summary is None and not result.executed
    assert len(result.failed) == 3 and len(result.blocked) == 5  # 3 trainings fail, their 5 evals never start
    rows = ResultsTable(tmp_path / "out").rows()
    failed = [r for r in rows if r["status"] == "failed"]
    assert all(r["kind"] == "finetune" and "no/such/checkpoint" in r["error"] and "error.txt" in r["error"]
               for r in failed)
    assert {r["status"] for r in rows if r["kind"] == "eval"} == {"blocked"}
    assert main(["experiment", "status", str(tmp_path / "out")]) == 1
    assert "3 failed, 5 blocked" in capsys.readouterr().out
    assert main(["experiment", "report", str(tmp_path / "out")]) == 0
    assert "No summary yet" in (tmp_path / "out" / "report.html").read_text()
