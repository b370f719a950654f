"""``mixlab experiment report DIR``: the experiment's tables, figures and runs as one self-contained page.

Reads what the runner wrote: ``results.sqlite`` (the runs), ``summary.json`` (the protocol's tables,
figures, notes and captions) with the CSV and PNG files it names, and ``experiment.json`` (the spec).
Uses the run report's page helpers (:mod:`mixlab.report.html`); a co-training experiment also gets
the affinity part of the run report (node scores of ``cotraining.csv``).
"""

from __future__ import annotations

import base64
import csv
import json
from pathlib import Path
from typing import Any

from mixlab.errors import DataError
from mixlab.experiments.results import ResultsTable
from mixlab.experiments.runner import SPEC_COPY, SUMMARY
from mixlab.report.html import cards, esc, figure, note, page, table

PAGE = "report.html"


def render_report(root: str | Path) -> str:
    """The HTML page of experiment folder ``root`` (``DataError`` if it holds no results table)."""
    root = Path(root)
    results = ResultsTable(root)
    if not results.exists():
        raise DataError(f"{root} is not an experiment folder (no results.sqlite); fix: give the --out folder of "
                        f"`mixlab experiment run`")
    rows, meta = results.rows(), results.meta()
    summary = _read_json(root / SUMMARY)
    spec = _read_json(root / SPEC_COPY) or meta.get("spec") or {}
    metric = (spec.get("eval") or {}).get("metric", "")
    sections = [("results", "Results", _results_section(root, summary))]
    if (root / "cotraining.csv").is_file():
        from mixlab.report.transfer import affinity_section

        sections.append(("affinity", "Transfer graph scores", affinity_section(root / "cotraining.csv")))
    sections.append(("runs", "Runs", _runs_section(rows, metric)))
    sections.append(("spec", "Spec", f"<pre>{esc(_yaml(spec))}</pre>"))
    counts = results.counts()
    wall = sum(r["wall_time_s"] or 0.0 for r in rows)
    tokens = sum(r["tokens"] or 0 for r in rows)
    top = cards([("protocol", str(meta.get("protocol", "?"))), ("runs done", f"{counts['done']} / {len(rows)}"),
                 ("failed", str(counts["failed"] + counts["blocked"])), ("score", metric or "?"),
                 ("tokens trained", f"{tokens:,}"), ("run time, summed", f"{wall / 60:.1f} min")])
    title = (summary or {}).get("title") or f"Experiment {meta.get('name', root.name)}"
    return page(f"{meta.get('name', root.name)}: {title}", str(root.resolve()), top, sections,
                "mixlab experiment report")


def write_report(root: str | Path, out: str | Path | None = None) -> Path:
    """Write :func:`render_report` to ``out`` (default ``DIR/report.html``) and return its path."""
    path = Path(out) if out else Path(root) / PAGE
    path.write_text(render_report(root), encoding="utf-8")
    return path


def _results_section(root: Path, summary: dict[str, Any] | None) -> str:
    if summary is None:
        return note("No summary yet: the experiment has not finished (or some runs failed). Run "
                    "`mixlab experiment run SPEC --out DIR` again to finish it; `mixlab experiment status DIR` "
                    "lists the runs.")
    parts = [f"<p>Score: <code>{esc(summary.get('metric'))}</code> "
             f"({'higher' if summary.get('higher_is_better', True) else 'lower'} is better).</p>"]
    parts += [f"<p>{esc(text)}</p>" for text in summary.get("notes", [])]
    for name, caption in (summary.get("figures") or {}).items():
        path = root / name
        if path.is_file():
            uri = "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
            parts.append(figure(uri, name, caption))
        else:
            parts.append(note(f"figure {name} is missing"))
    captions = summary.get("captions") or {}
    for name in summary.get("tables", []):
        headers, body = _read_csv(root / f"{name}.csv")
        parts.append(f"<h3>{esc(name)}.csv</h3>")
        if captions.get(name):
            parts.append(f"<p>{esc(captions[name])}</p>")
        numeric = [i for i, h in enumerate(headers) if body and all(_is_number(row[i]) for row in body)]
        parts.append(table(headers, body, numeric=numeric, scroll=len(body) > 20) if headers else
                     note(f"{name}.csv is missing or empty"))
    return "\n".join(parts)


def _runs_section(rows: list[dict[str, Any]], metric: str) -> str:
    body = []
    for row in rows:
        overall = (row.get("metrics") or {}).get("overall") or {}
        score = overall.get(metric) if row["kind"] == "eval" else overall.get("loss")
        body.append((row["key"], row["kind"], row["status"], row["steps"] or "", f"{row['tokens'] or 0:,}",
                     "" if row["wall_time_s"] is None else f"{row['wall_time_s']:.1f}", row["attempts"],
                     "" if score is None else f"{score:.4g}", row["metric_source"] or "", row["hash"],
                     row["run_folder"], row["error"] or ""))
    headers = ("key", "kind", "status", "steps", "tokens", "wall s", "attempts", f"{metric} / loss", "source",
               "hash", "folder", "error")
    return ("<p>One row per run (runs shared by several roles appear once). Score: the eval run's mean "
            f"<code>{esc(metric)}</code> over its tasks; for training runs, the last training loss.</p>"
            + table(headers, body, numeric=(3, 4, 5, 6, 7), scroll=True, table_id="runs"))


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    if not path.is_file():
        return [], []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        lines = list(reader)
    return (lines[0], lines[1:]) if lines else ([], [])


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _yaml(data: Any) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False)


__all__ = ["PAGE", "render_report", "write_report"]
