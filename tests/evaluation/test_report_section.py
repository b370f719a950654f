"""The report's evaluation part: shown when the run has eval/ or best/, with the task metrics, family averages
and first predictions that the run folder holds; absent from a run never evaluated."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import mixlab
from mixlab.evaluation import evaluate as ev
from mixlab.report import render_report
from mixlab.train.finetune import BestCheckpoint, save_best


def section(html, anchor):
    match = re.search(rf'<section id="{anchor}">(.*?)</section>', html, re.S)
    return match.group(1) if match else None


def test_report_shows_task_metrics_and_family_averages(wordnet_run, tmp_path, monkeypatch):
    run = tmp_path / "run"
    shutil.copytree(wordnet_run, run, ignore=shutil.ignore_patterns("eval", "best"))
    assert section(render_report(run), "evaluation") is None  # never evaluated: no part

    def half_right(model, tokenizer, examples, **options):
        return [ex["targets"] if i % 2 == 0 else "none" for i, ex in enumerate(examples)]

    monkeypatch.setattr(ev, "_decode", half_right)
    mixlab.evaluate(run, tasks="wordnet/pos,wordnet/antonym", max_examples=4, progress=False)
    html = render_report(run)
    part = section(html, "evaluation")
    assert part is not None and "5. Evaluation with task metrics" in html
    assert "Split validation" in part and "wordnet/pos" in part and "accuracy 50.00" in part
    assert "exact_match 50.00" in part and "Semantic relations" in part and "Classification" in part
    assert part.count("data:image/png;base64,") == 1  # the scores figure
    assert "first 3 predictions" in part and "none" in part  # what the model said, from pos.jsonl

    save_best(run / "best", {}, BestCheckpoint(step=20, metric="overall", value=50.0, path=str(run / "best")),
              save_fn=lambda obj, path: Path(path).write_bytes(b"x"))
    part = section(render_report(run), "evaluation")
    assert "Fine-tuning" in part and "best step" in part and "50.00" in part
