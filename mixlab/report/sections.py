"""The report's parts as HTML fragments: summary cards, mixture, training curves, config and environment.

Each builder takes the loaded :class:`~mixlab.run_folder.Run` and returns HTML; a missing
input becomes a visible note, never an exception.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from mixlab.report import curves as cv
from mixlab.report import figures, resolved
from mixlab.report.html import cards, esc, figure, note, table
from mixlab.run_folder import Run
from mixlab.samplers import plot

#: the throughput card averages this many last logged values
NUM_THROUGHPUT_LOGS = 10
#: environment keys shown first, in this order (others follow sorted)
ENV_ORDER = ("python", "torch", "transformers", "mixlab", "platform", "device", "backend", "world_size",
             "git_commit", "git_dirty", "hostname", "started_at", "argv")
#: env.json keys the trainer records about the model: shown in the Model table, not the environment's
MODEL_ENV_KEYS = ("model", "num_parameters")


def fmt_rate(probability: float) -> str:
    return f"{100 * probability:.3f}%"


def fmt_loss(value: float | None) -> str:
    return "–" if value is None else f"{value:.4f}"


def fmt_int(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def fmt_bytes(num: int) -> str:
    size = float(num)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def mixture_name(run: Run) -> str | None:
    if run.manifest and isinstance(run.manifest.get("name"), str):
        return run.manifest["name"]
    mixture = (run.config or {}).get("mixture")
    return mixture if isinstance(mixture, str) else None


def summary(run: Run, leaves: Sequence[cv.Leaf]) -> str:
    """The cards at the top: mixture, steps, final loss, tokens/s, tasks, families, checkpoints."""
    loss = cv.scalar_curve(run.metrics, cv.LOSS_KEYS)
    speed = cv.scalar_curve(run.metrics, cv.THROUGHPUT_KEYS)
    steps = max((r["step"] for r in run.metrics), default=None)
    recent = speed.values[-NUM_THROUGHPUT_LOGS:]
    task_names = {leaf.task for leaf in leaves} or set(cv.task_curves(run.metrics))
    items = [
        ("mixture", mixture_name(run) or "not available"),
        ("steps", fmt_int(steps) if steps is not None else "not available"),
        ("final loss", fmt_loss(loss.last) if len(loss) else "not available"),
        ("tokens / s", fmt_int(statistics.fmean(recent)) if recent else "not available"),
        ("tasks", str(len(task_names)) if task_names else "not available"),
        ("families", str(len({leaf.family for leaf in leaves})) if leaves else "not available"),
        ("checkpoints", str(len(run.checkpoints))),
    ]
    count = resolved.resolve(run).num_parameters
    items.insert(1, ("parameters", resolved.fmt_count(count) if count is not None else "not available"))
    return cards(items)


def mixture_part(report: Any) -> str:
    """The mixture part of the page (``SECTIONS`` entry): :func:`mixture_section`."""
    return mixture_section(report.run, report.leaves)


def training_part(report: Any) -> str:
    """The training part of the page (``SECTIONS`` entry): :func:`training_section`."""
    return training_section(report.run, report.leaves)


def config_part(report: Any) -> str:
    """The config part of the page (``SECTIONS`` entry): :func:`config_section`."""
    return config_section(report.run)


def mixture_section(run: Run, leaves: Sequence[cv.Leaf]) -> str:
    """Figure 1-style plot and the per-family and per-task tables (with final losses)."""
    if run.manifest is None:
        return note(f"Mixture not available: {run.notes.get('manifest', 'no manifest')}.")
    if not leaves:
        return note("Mixture not available: the manifest lists no tasks with a name and a numeric rate.")
    parts = []
    dropped = cv.mixture_problems(run.manifest)
    if dropped:
        parts.append(note(f"{dropped} manifest task entries without a name or a numeric rate were skipped."))
    cap = cv.number(run.manifest.get("cap")) or cv.find_cap(run.manifest.get("spec"))
    if not any(leaf.num_examples for leaf in leaves):
        parts.append(note("Task sizes not available (the manifest has no num_examples): the plot shows rates only."))
    rates_figure = figure(_mixture_plot(leaves, cap, mixture_name(run) or ""), "mixture rates",
                          "Supervised tasks grouped and coloured by family: training-set sizes (log scale) with the "
                          "cap (dashed) over the tasks it applies to, and sampling rates; the bar on the right "
                          "splits all examples into the self-supervised part and each family."
                          + ("" if cap else " No cap in the mixture spec."), full=True)
    task_last = {t: c.last for t, c in cv.task_curves(run.metrics).items()}
    family_last = {f: c.last for f, c in cv.family_curves(run.metrics, leaves).items()}
    family_rows = [(f, n, fmt_rate(rate), fmt_loss(family_last.get(f)))
                   for f, (n, rate) in cv.family_rates(leaves).items()]
    task_rows = [(leaf.task, leaf.family, fmt_int(leaf.num_examples), fmt_rate(leaf.rate),
                  fmt_loss(task_last.get(leaf.task)), leaf.version, leaf.plugin) for leaf in leaves]
    parts.append(rates_figure + '<div class="cols"><div><h3>Rates per family</h3>'
                 + table(("family", "tasks", "rate", "final loss"), family_rows, numeric=(1, 2, 3),
                         table_id="family-rates")
                 + "</div><div><h3>Rates per task</h3>"
                 + table(("task", "family", "train examples", "rate", "final loss", "version", "plugin"), task_rows,
                         numeric=(2, 3, 4), scroll=len(task_rows) > 20, table_id="task-rates") + "</div></div>")
    return "\n".join(parts)


def _mixture_plot(leaves: Sequence[cv.Leaf], cap: float | None, name: str) -> str:
    """A data URI of ``mixlab rates --plot``'s figure (:func:`mixlab.samplers.plot.plot_rates`) for the
    manifest's leaves. A leaf's capped size is the manifest's ``num_capped``, else ``min(num_examples, cap)``;
    its own cap is passed on when the manifest records it (the cap line then skips uncapped tasks)."""
    rows = []
    for leaf in leaves:
        row = {"task": leaf.task, "family": leaf.family, "num_examples": leaf.num_examples,
               "num_capped": _capped(leaf, cap), "rate": leaf.rate}
        rows.append({**row, "cap": leaf.cap} if leaf.cap_recorded else row)
    return figures.to_data_uri(plot.plot_rates(rows, cap=cap, title=f"mixture {name}: {len(rows)} tasks"))


def _config_rows(config: Mapping[str, Any], found: resolved.Resolved) -> list[tuple[str, str]]:
    """The config's settings, a null one shown resolved; then resolved values the config has no key for."""
    rows = [(key, found.shown(key, None if value == "null" else value) or value) for key, value in flatten(config)]
    given = {key for key, _ in rows}
    return rows + [(key, found.shown(key, None) or "") for key in found.values if key not in given]


def _family_order(leaves: Sequence[cv.Leaf]) -> list[str]:
    """Families by total rate, largest first: the rates figure's order, so both figures colour alike."""
    return plot.family_order({"family": leaf.family, "rate": leaf.rate} for leaf in leaves)


def _model_table(found: resolved.Resolved) -> str:
    """The model's resolved shape, vocabulary and parameter count."""
    keys = [f"model.{k}" for k in (*resolved.SHAPE_KEYS, "vocab_size")]
    rows = [(key.removeprefix("model."), found.shown(key, None)) for key in keys if key in found.values]
    if found.num_parameters is not None:
        rows.append(("parameters", f"{found.num_parameters:,} ({resolved.fmt_count(found.num_parameters)}; "
                                   f"{found.parameters_source})"))
    if not rows:
        return "<h3>Model</h3>" + note("Model not available: the run recorded no model (no env.json model entry, "
                                       "and no model preset in the config).")
    return "<h3>Model</h3>" + table(("item", "value"), rows, table_id="model")


def _capped(leaf: cv.Leaf, cap: float | None) -> float | None:
    return plot.capped_size(leaf.num_examples, leaf.num_capped, leaf.cap if leaf.cap_recorded else cap)


def training_section(run: Run, leaves: Sequence[cv.Leaf]) -> str:
    """Loss / learning rate / throughput, per-task loss and per-family loss against the step."""
    parts = []
    if run.num_bad_lines:
        quoted = "".join(f"<li><code>{esc(line)}</code></li>" for line in run.bad_lines)
        parts.append(f'<p class="note">{run.num_bad_lines} malformed metric line(s) skipped '
                     f"(not JSON objects with a numeric step).</p><details><summary>first skipped lines</summary>"
                     f"<ul>{quoted}</ul></details>")
    if run.cut_last_line:
        parts.append(note("The last metric line was cut off (the run was stopped while writing it) and is left out."))
    if not run.metrics:
        parts.append(note(f"Training curves not available: {run.notes.get('metrics', 'no metrics')}."))
        return "\n".join(parts)
    loss, lr = cv.scalar_curve(run.metrics, cv.LOSS_KEYS), cv.scalar_curve(run.metrics, cv.LR_KEYS)
    speed = cv.scalar_curve(run.metrics, cv.THROUGHPUT_KEYS)
    eval_loss = cv.scalar_curve(run.metrics, cv.EVAL_LOSS_KEYS)
    evals = f" and {len(eval_loss):,} evaluations" if len(eval_loss) else ""
    if len(loss):
        parts.append(f"<p>{len(loss):,} logged training steps{evals}, from step {fmt_int(loss.steps[0])} "
                     f"to step {fmt_int(loss.steps[-1])}; final loss {fmt_loss(loss.last)}"
                     + (f", final eval loss {fmt_loss(eval_loss.last)}" if len(eval_loss) else "") + ".</p>")
    parts.append("<h3>Loss, learning rate and throughput</h3>")
    parts.append(figure(figures.to_data_uri(figures.training_figure(loss, lr, speed, eval_loss)), "training curves",
                        "Long curves show a faint raw line under a trailing moving average."))
    tasks = cv.task_curves(run.metrics)
    parts.append("<h3>Loss per task</h3>")
    if tasks:
        family_of = {leaf.task: leaf.family for leaf in leaves}
        panels = len(tasks) > figures.MAX_SINGLE_PANEL and family_of
        fig = (figures.family_panels_figure(tasks, family_of) if panels
               else figures.curves_figure(tasks, "loss per task"))
        parts.append(figure(figures.to_data_uri(fig), "loss per task",
                            f"{len(tasks)} tasks" + (", one panel per family (moving averages)" if panels else "")
                            + "; a task's point at a step averages the target tokens it had in that logged batch."))
    else:
        parts.append(note("Per-task loss not available: the metric records have no task_loss mapping."))
    parts.append("<h3>Loss per family</h3>")
    families = cv.family_curves(run.metrics, leaves)
    if families:
        colours = plot.family_colours(_family_order(leaves))
        weighting = ("target-token" if any(isinstance(r.get(k), Mapping) for r in run.metrics
                                           for k in cv.TASK_TOKEN_KEYS) else "mixture-rate")
        parts.append(figure(figures.to_data_uri(figures.curves_figure(families, "loss per family", colours)),
                            "loss per family", f"{len(families)} families (from the mixture manifest); "
                            f"{weighting}-weighted mean of the family's task losses at each step."))
    elif not leaves:
        parts.append(note("Per-family loss not available: no mixture manifest to map tasks to families."))
    else:
        parts.append(note("Per-family loss not available: no per-task losses for the manifest's tasks."))
    return "\n".join(parts)


def flatten(data: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Nested mappings as sorted ``(dotted.key, json value)`` rows; lists stay whole."""
    if isinstance(data, Mapping) and data:
        rows: list[tuple[str, str]] = []
        for key in data:
            rows.extend(flatten(data[key], f"{prefix}.{key}" if prefix else str(key)))
        return rows
    text = data if isinstance(data, str) else json.dumps(data, default=str)
    return [(prefix, text)]


def config_section(run: Run) -> str:
    """The config as a key/value table (null settings shown resolved, with where the value came from), the
    model and its parameter count, the recorded environment, and the checkpoints."""
    source = f" <small>({esc(run.config_file)})</small>" if run.config_file else ""
    parts = ['<div class="cols"><div>', f"<h3>Configuration{source}</h3>"]
    found = resolved.resolve(run)
    if run.config is None:
        parts.append(note(f"Config not available: {run.notes.get('config', 'no config')}."))
    else:
        parts.append(table(("setting", "value"), _config_rows(run.config, found), table_id="config"))
        if any(value == "null" and key in found.values for key, value in flatten(run.config)):
            parts.append('<p class="small">Settings the config leaves null are shown as the run resolved '
                         "them, with where the value came from in brackets.</p>")
    parts.append(_model_table(found))
    parts.append("</div><div>")
    parts.append("<h3>Environment</h3>")
    if run.env is None:
        parts.append(note(f"Environment not available: {run.notes.get('env', 'no env.json')}."))
    else:
        order = [k for k in ENV_ORDER if k in run.env] + sorted(k for k in run.env if k not in ENV_ORDER
                                                                 and k not in MODEL_ENV_KEYS)
        parts.append(table(("item", "value"), [row for k in order for row in flatten(run.env[k], k)], table_id="env"))
    parts.append("</div></div>")
    parts.append("<h3>Checkpoints</h3>")
    if not run.checkpoints:
        parts.append(note(f"No checkpoints: {run.notes.get('checkpoints', 'none found')}."))
    else:
        rows = [(fmt_int(c.step), c.path.name, c.num_files, fmt_bytes(c.num_bytes),
                 f"incomplete: {c.problem}" if c.problem else "complete")
                for c in run.checkpoints]
        parts.append(table(("step", "folder", "files", "size", "status"), rows, numeric=(0, 2, 3),
                           table_id="checkpoints"))
    return "\n".join(parts)
