"""mixlab.finetune and mixlab finetune: constant learning rate, dropout 0.1, a fresh optimizer from the
checkpoint's weights, task-metric evals every eval_interval steps, and the best model kept by the metric."""

from __future__ import annotations

import json

import pytest
import torch
import yaml

import mixlab
from mixlab.cli import main
from mixlab.errors import ConfigError
from mixlab.evaluation.results import EvalResult, TaskResult
from mixlab.run_folder import read_metrics, verify
from mixlab.train import finetune as ft
from mixlab.train.schedule import ConstantSchedule, make_schedule


def eval_records(out):
    return [r for r in read_metrics(out) if "eval_metrics" in r]


def test_finetune_keeps_the_best_model_by_the_metric(wordnet_run, tmp_path):
    out = tmp_path / "ft"
    result = mixlab.finetune(wordnet_run, "wordnet/pos", out_dir=out, steps=6, batch_size=8, eval_interval=2,
                             eval_max_examples=16, learning_rate=3e-3, best_metric="accuracy", progress=False)
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["lr_schedule"] == "constant" and config["model"]["dropout_rate"] == 0.1
    assert config["init_from"].endswith("step_0000040") and config["learning_rate"] == 3e-3
    records = read_metrics(out)
    assert {r["lr"] for r in records if "lr" in r} == {3e-3}  # constant, no warmup or decay
    evals = eval_records(out)
    assert [r["step"] for r in evals] == [2, 4, 6] == [e["step"] for e in result.evals]
    values = [r["eval_metrics"]["wordnet/pos"]["accuracy"] for r in evals]
    best = result.best
    assert best is not None and best.value == max(values) and best.step == evals[values.index(max(values))]["step"]
    assert [r["best_value"] for r in evals] == [max(values[: i + 1]) for i in range(3)]
    recorded = json.loads((out / "best" / "best.json").read_text())
    assert recorded["step"] == best.step and recorded["metric"] == "accuracy" and recorded["value"] == best.value
    assert verify(out / "best") is None  # a checkpoint folder: evaluate and init_from read it
    again = mixlab.evaluate(out / "best", tasks="wordnet/pos", max_examples=16, out_dir=tmp_path / "eval",
                            progress=False)
    assert again.step == best.step and again.tasks["wordnet/pos"].metrics["accuracy"] == best.value


def test_a_worse_later_eval_keeps_the_earlier_best(wordnet_run, tmp_path, monkeypatch, capsys):
    scripted = iter([10.0, 30.0, 20.0])

    def fake_eval(self, trainer):
        value = next(scripted)
        task = TaskResult(task="wordnet/antonym", family="Semantic relations", split="validation", num_examples=4,
                          metrics={"exact_match": value})
        return EvalResult.from_tasks([task], split="validation")

    monkeypatch.setattr(ft.BestKeeper, "_evaluate", fake_eval)
    out = tmp_path / "ft"
    argv = ["finetune", str(wordnet_run), "--task", "wordnet/antonym", "--out", str(out), "--steps", "6",
            "--batch-size", "8", "--eval-interval", "2", "--no-progress", "--json"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["best"]["step"] == 4 and result["best"]["value"] == 30.0 and result["best"]["metric"] == "overall"
    assert [r["best_value"] for r in eval_records(out)] == [10.0, 30.0, 30.0]
    best = torch.load(out / "best" / "model.pt", weights_only=True)
    last = torch.load(out / "checkpoints" / "step_0000006" / "model.pt", weights_only=True)
    assert best.keys() == last.keys()
    assert not all(torch.equal(best[k], last[k]) for k in best)  # the step-4 weights, not the last ones


def test_finetune_config_and_errors(wordnet_run, tmp_path):
    config = ft.finetune_config(wordnet_run, "wordnet/pos", out_dir=tmp_path, steps=10, learning_rate=1e-3,
                                registry=mixlab.load_registry())
    assert config.mixture == {"name": "finetune-wordnet-pos", "tasks": ["wordnet/pos"],
                              "strategy": {"kind": "uniform"}}
    assert config.checkpoint_interval == 2 and config.eval_interval == 0 and config.R is None
    assert config.input_length == 64 and config.target_length == 16  # the pre-training run's
    with pytest.raises(ConfigError, match="best_metric 'bleu' is not among"):
        mixlab.finetune(wordnet_run, "wordnet/pos", out_dir=tmp_path / "x", steps=1, batch_size=4,
                        eval_max_examples=2, best_metric="bleu", progress=False)
    assert make_schedule("constant", base_lr=0.5, warmup_steps=10)(10_000) == 0.5
    assert isinstance(make_schedule("constant", base_lr=0.5, warmup_steps=1), ConstantSchedule)
    with pytest.raises(ValueError, match="choose 'rsqrt' or 'constant'"):
        make_schedule("cosine", base_lr=0.5, warmup_steps=1)


def test_a_resumed_finetune_keeps_its_best_so_far(wordnet_run, tmp_path, monkeypatch):
    scripted = iter([30.0, 10.0])

    def fake_eval(self, trainer):
        task = TaskResult(task="wordnet/pos", family="Classification", split="validation", num_examples=4,
                          metrics={"accuracy": next(scripted)})
        return EvalResult.from_tasks([task], split="validation")

    monkeypatch.setattr(ft.BestKeeper, "_evaluate", fake_eval)
    out = tmp_path / "ft"
    options = dict(out_dir=out, batch_size=4, eval_interval=2, progress=False)
    first = mixlab.finetune(wordnet_run, "wordnet/pos", steps=2, **options)  # cut after step 2
    assert first.best is not None and (first.best.step, first.best.value) == (2, 30.0)
    resumed = mixlab.finetune(wordnet_run, "wordnet/pos", steps=4, resume=True, **options)
    assert resumed.step == 4 and [e["step"] for e in resumed.evals] == [4]
    assert resumed.best is not None and (resumed.best.step, resumed.best.value) == (2, 30.0)
    assert json.loads((out / "best" / "best.json").read_text())["step"] == 2
