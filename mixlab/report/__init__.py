"""A self-contained HTML report of a training run folder.

::

    RUN_DIR (config.yaml, metrics.jsonl, mixture_manifest.json, env.json, checkpoints/, affinity.csv)
       | mixlab.run_folder.load()   not a run folder: NotARunError; a missing or malformed piece: a note
       v
     Run --> curves (numbers) --> figures (matplotlib Agg -> base64 PNG)
       |                                 |
       '--> sections / transfer (HTML fragments) --> html.page() --> report.html

The page has summary cards (parameters among them), then one part per entry of ``SECTIONS``: the
mixture (its rates figure across the page, rates per family and task), training curves (loss, learning
rate, throughput, loss per task and per family), task affinity (the strongest transfer edges and a
heatmap of the table from ``--affinity`` or ``RUN_DIR/affinity.csv``, which says when it is ExT5's
Table 2 and not this run's), and the run's config (null settings shown resolved: the model shape from
its preset, the vocabulary, R from the mixture), parameter count, environment and checkpoints. No
scripts and no external resources.

A new part is one line in ``SECTIONS``: ``(anchor, heading, "module:function")``, where the function
takes a :class:`ReportInput` and returns an HTML fragment (a missing input becomes a note, never an
error); headings are numbered in order.

The run folder's layout is :mod:`mixlab.run_folder`'s; the training loop records its environment
with ``mixlab.environment.write_environment``.
"""

from __future__ import annotations

import datetime as _dt
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mixlab.environment import collect_environment, write_environment
from mixlab.run_folder import BEST, EVAL, METRICS, Run, RunFolder
from mixlab.run_folder import load as load_run

__all__ = ["OPTIONAL_SECTIONS", "REPORT_NAME", "SECTIONS", "SECTION_TITLES", "ReportInput", "Run",
           "collect_environment", "load_run", "render_report", "write_environment", "write_report"]

#: file name used when ``out`` is not given (inside the run folder)
REPORT_NAME = "report.html"
#: (anchor, heading, "module:function" building the part's HTML from a ReportInput), in page order
SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("mixture", "Mixture", "mixlab.report.sections:mixture_part"),
    ("training", "Training curves", "mixlab.report.sections:training_part"),
    ("affinity", "Task affinity", "mixlab.report.transfer:affinity_part"),
    ("config", "Configuration, model, environment and checkpoints", "mixlab.report.sections:config_part"),
)
#: (anchor, numbered heading) of each part, in page order
SECTION_TITLES = tuple((anchor, f"{i}. {heading}") for i, (anchor, heading, _) in enumerate(SECTIONS, start=1))
#: parts added after ``SECTIONS`` only when the run holds one of the paths: (anchor, heading, builder, paths)
OPTIONAL_SECTIONS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("evaluation", "Evaluation with task metrics", "mixlab.report.evaluation:evaluation_part", (EVAL, BEST)),
    ("weights", "Mixture weights over training", "mixlab.report.weights:weights_part", (METRICS,)),
)


@dataclass(frozen=True, kw_only=True)
class ReportInput:
    """What every part is built from: the loaded run, its mixture leaves and the affinity table's path."""

    run: Run
    leaves: list[Any]  # mixlab.report.curves.Leaf (imported lazily)
    affinity: Path | None


def _builder(target: str) -> Callable[[ReportInput], str]:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def render_report(run_dir: str | Path, affinity: str | Path | None = None) -> str:
    """The report of ``run_dir`` as an HTML string (see :func:`write_report`)."""
    import mixlab
    from mixlab.report import curves, html, sections

    run = load_run(run_dir)
    path = run.path
    if affinity is None and (recorded := RunFolder(path).affinity).is_file():
        affinity = recorded
    report = ReportInput(run=run, leaves=curves.leaves_of(run.manifest),
                         affinity=None if affinity is None else Path(affinity))
    titles = dict(SECTION_TITLES)
    parts = [(anchor, titles[anchor], _builder(target)(report)) for anchor, _, target in SECTIONS]
    for anchor, heading, target, needs in OPTIONAL_SECTIONS:
        if any((path / need).exists() for need in needs):
            body = _builder(target)(report)
            if body:  # a part with nothing to show (e.g. weights that never changed) is left out
                parts.append((anchor, f"{len(parts) + 1}. {heading}", body))
    name = (run.config or {}).get("name")
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return html.page(
        title=f"Run report: {name if isinstance(name, str) and name else path.resolve().name}",
        subtitle=str(path.resolve()),
        summary=sections.summary(run, report.leaves),
        sections=parts,
        footer=f"generated by mixlab {mixlab.__version__} on {now}",
    )


def write_report(run_dir: str | Path, out: str | Path | None = None, affinity: str | Path | None = None) -> Path:
    """Write the HTML report of ``run_dir`` to ``out`` (default ``RUN_DIR/report.html``) and return its path.

    ``affinity`` is a transfer results CSV (source, target, score, budget); by default
    ``RUN_DIR/affinity.csv`` is used when present. A folder that is not a run (missing, or holding none
    of a run's files) raises :class:`~mixlab.errors.NotARunError` (a :class:`mixlab.DataError`); any
    missing or malformed file inside a run becomes a note on the page.
    """
    text = render_report(run_dir, affinity)
    target = Path(out) if out is not None else Path(run_dir) / REPORT_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target
