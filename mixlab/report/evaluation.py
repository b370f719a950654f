"""The report's evaluation part: task metrics per task and family (``RUN_DIR/eval/``), fine-tuning's best model.

Shown when the run has ``eval/`` (written by ``mixlab eval``) or ``best/best.json`` (``mixlab finetune``):
per split, a bar chart of task scores coloured by family with the family averages beside it, the tables
of task metrics and family averages, and the first predictions of each task; for a fine-tuning run, the
task-metric score at each evaluation with the best step marked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mixlab.evaluation.results import EvalResult, read_results
from mixlab.report.figures import family_colours, new_figure, to_data_uri
from mixlab.report.html import cards, esc, figure, note, table
from mixlab.run_folder import BEST_RECORD, RunFolder

#: predictions shown per task (the file has them all)
NUM_SHOWN_PREDICTIONS = 3


def evaluation_part(report: Any) -> str:
    """The evaluation part of the page (an optional ``SECTIONS`` entry)."""
    run = report.run
    parts = [_finetune_part(run.path, run.metrics)]
    results = read_results(run.path)
    if not results and not parts[0]:
        return note("Not evaluated yet: run `mixlab eval RUN_DIR` to decode a split and score it with the task "
                    "metrics.")
    newest = max((c.step for c in run.checkpoints), default=None)
    for split, result in results.items():
        parts.append(_split_part(run.path, split, result, newest))
    return "\n".join(p for p in parts if p)


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _split_part(root: Path, split: str, result: EvalResult, newest: int | None) -> str:
    out = [f"<h3>Split {esc(split)}</h3>",
           cards([("tasks", str(len(result.tasks))), ("families", str(len(result.families))),
                  ("overall (mean task score)", _fmt(result.overall)),
                  ("checkpoint step", "mixed" if result.step is None else str(result.step))])]
    if result.step is not None and newest is not None and result.step != newest:
        out.append(note(f"These metrics are of step {result.step}; the newest checkpoint is step {newest}. "
                        "Run `mixlab eval RUN_DIR` again to evaluate it."))
    out.append(figure(to_data_uri(_scores_figure(result)), f"task scores on {split}",
                      "Each task's score (the mean of its metrics, 0-100) coloured by family; right: family "
                      "averages (mean over their tasks) and the overall average (dashed)."))
    rows = [(name, r.family, r.num_examples, "  ".join(f"{k} {v:.2f}" for k, v in r.metrics.items()), _fmt(r.score))
            for name, r in result.tasks.items()]
    out.append(table(["task", "family", "examples", "metrics", "score"], rows, numeric=(2, 4), scroll=True))
    counts: dict[str, int] = {}
    for r in result.tasks.values():
        counts[r.family] = counts.get(r.family, 0) + 1
    out.append(table(["family", "tasks", "average score"],
                     [(f, counts.get(f, 0), _fmt(v)) for f, v in result.families.items()], numeric=(1, 2)))
    out.append(_predictions(root, split, result))
    return "\n".join(out)


def _scores_figure(result: EvalResult) -> Any:
    families = sorted({r.family for r in result.tasks.values()})
    colours = family_colours(families)
    ordered = sorted(result.tasks.values(), key=lambda r: (r.family, r.task))
    fig = new_figure(11, max(2.4, 0.28 * len(ordered) + 1.2))
    left, right = fig.subplots(1, 2, width_ratios=[3, 2])
    positions = list(range(len(ordered)))[::-1]
    left.barh(positions, [r.score or 0.0 for r in ordered], color=[colours[r.family] for r in ordered])
    left.set_yticks(positions, [r.task for r in ordered], fontsize=8)
    left.set_xlim(0, 100)
    left.set_xlabel("task score (0-100)")
    fam_positions = list(range(len(result.families)))[::-1]
    right.barh(fam_positions, list(result.families.values()), color=[colours[f] for f in result.families])
    right.set_yticks(fam_positions, list(result.families), fontsize=8)
    right.set_xlim(0, 100)
    right.set_xlabel("family average")
    if result.overall is not None:
        right.axvline(result.overall, color="black", linestyle="--", linewidth=1,
                      label=f"overall {result.overall:.1f}")
        right.legend(fontsize=8, loc="lower right")
    for ax, values, where in ((left, [r.score for r in ordered], positions),
                              (right, list(result.families.values()), fam_positions)):
        for value, y in zip(values, where, strict=True):  # the number beside each bar (a 0 has no bar to see)
            ax.text((value or 0.0) + 1, y, _fmt(value), va="center", fontsize=7)
        ax.grid(axis="x", alpha=0.3)
    return fig


def _predictions(root: Path, split: str, result: EvalResult) -> str:
    blocks = []
    for name in result.tasks:
        path = RunFolder(root).eval_file(split, name)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()[:NUM_SHOWN_PREDICTIONS]
            shown = [json.loads(line) for line in lines]
        except (OSError, ValueError):
            continue
        rows = [(x.get("input", ""), x.get("target", ""), x.get("prediction", "")) for x in shown]
        blocks.append(f"<details><summary>{esc(name)}: first {len(rows)} predictions ({esc(path.name)})</summary>"
                      + table(["input", "target", "prediction"], rows) + "</details>")
    return "\n".join(blocks)


def _finetune_part(root: Path, metrics: list[Mapping[str, Any]]) -> str:
    best_file = RunFolder(root).best / BEST_RECORD
    evals = [r for r in metrics if isinstance(r.get("eval_score"), int | float)]
    if not best_file.is_file() and not evals:
        return ""
    out = ["<h3>Fine-tuning</h3>"]
    try:
        best = json.loads(best_file.read_text(encoding="utf-8"))
        out.append(cards([("best step", str(best["step"])), (f"best {best['metric']}", _fmt(best["value"]))]))
    except (OSError, ValueError, KeyError, TypeError):
        best = None
        out.append(note(f"No readable {BEST_RECORD} in best/ yet."))
    if evals:
        fig = new_figure(7, 2.8)
        ax = fig.subplots()
        ax.plot([r["step"] for r in evals], [r["eval_score"] for r in evals], marker="o", color="#2c5fa8",
                label="overall task score")
        if best is not None:
            ax.axvline(best["step"], color="#d55e00", linestyle="--", linewidth=1, label=f"best (step {best['step']})")
        ax.set_xlabel("step")
        ax.set_ylabel("score (0-100)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        out.append(figure(to_data_uri(fig), "fine-tuning evaluations",
                          "Overall task-metric score at each fine-tuning evaluation; the dashed line marks the "
                          "step whose model is kept in best/."))
    return "\n".join(out)
