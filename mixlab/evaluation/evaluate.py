"""``mixlab.evaluate``: decode a split of each task with a trained model and score it with the task's metrics.

```
run or checkpoint --load_model--> T5 + tokenizer + config
tasks (names/globs, default: the run's mixture) --task.load(split), first max_examples rows, in order
   --> generate (greedy with k/v cache, or beam) --> postprocess (whitespace, Task.postprocess)
   --> metrics.get(name) for each Task.metrics --> TaskResult
   --> RUN_DIR/eval/<split>/<task>.jsonl (input, target, prediction) then <task>.metrics.json (written last)
--> EvalResult: per task, per family, overall
```

Resuming: each task's two files are written atomically (a temporary file renamed into place), the
metrics file last, so it marks a finished task. A rerun with the same settings (checkpoint and step,
split, max_examples, decoding settings, task version) reuses it instead of decoding again; anything
else (another checkpoint, more examples, ``redo=True``) evaluates the task anew.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mixlab.errors import ConfigError
from mixlab.evaluation import metrics as metric_table
from mixlab.evaluation.postprocess import postprocessor_for
from mixlab.evaluation.results import EvalResult, TaskResult, read_task_result, task_result_json
from mixlab.run_folder import RunFolder

log = logging.getLogger(__name__)

#: the metric of a task that names none
DEFAULT_METRICS = ("exact_match",)


def evaluate(run_or_checkpoint: str | Path, tasks: str | Sequence[str] | None = None, split: str = "validation",
             max_examples: int | None = None, *, batch_size: int = 32, num_beams: int = 1,
             max_length: int | None = None, max_input_length: int | None = None, device: Any = "auto",
             out_dir: str | Path | None = None, registry: Any = None, redo: bool = False,
             progress: bool = True) -> EvalResult:
    """Evaluate a run's model (newest good checkpoint) or one checkpoint folder on ``split`` of ``tasks``.

    ``tasks``: task names or glob patterns (``"wordnet/*"``; several as a list or comma-separated);
    ``None`` takes the supervised tasks of the run's mixture. ``max_examples`` takes each task's first
    N rows. ``max_length`` (default: the run's ``target_length``) caps the tokens decoded, and inputs are
    cut to ``max_input_length`` (default: the run's ``input_length``). ``num_beams`` > 1 uses beam search.
    Predictions and metrics go to ``out_dir`` (default: the run folder) under ``eval/<split>/``; finished
    tasks are reused unless ``redo``. Returns an :class:`EvalResult` (``.to_dict()`` for plain data).
    """
    from mixlab.evaluation.loading import load_model, resolve_device

    loaded = load_model(run_or_checkpoint, device=resolve_device(device))
    registry = registry if registry is not None else _load_registry()
    manifest = RunFolder(loaded.run_dir).mixture_manifest
    chosen, skipped = select_tasks(tasks, registry, split, manifest=manifest)
    return evaluate_model(
        loaded.model, loaded.tokenizer, chosen, split=split, max_examples=max_examples, batch_size=batch_size,
        num_beams=num_beams, max_length=max_length or loaded.config.target_length,
        max_input_length=max_input_length or loaded.config.input_length,
        out_dir=Path(out_dir) if out_dir is not None else loaded.run_dir, redo=redo, progress=progress,
        identity={"checkpoint": str(loaded.checkpoint.resolve()), "step": loaded.step}, skipped=skipped,
        run_dir=str(loaded.run_dir))


def evaluate_model(model: Any, tokenizer: Any, tasks: Sequence[Any], *, split: str = "validation",
                   max_examples: int | None = None, batch_size: int = 32, num_beams: int = 1, max_length: int,
                   max_input_length: int | None = None, out_dir: Path | None = None, redo: bool = False,
                   progress: bool = True, identity: dict[str, Any] | None = None,
                   skipped: dict[str, str] | None = None, autocast: Callable[[], Any] | None = None,
                   run_dir: str | None = None) -> EvalResult:
    """Evaluate an in-memory model (what :func:`evaluate` and fine-tuning call); files only with ``out_dir``."""
    from tqdm.auto import tqdm

    if max_examples is not None and max_examples < 1:
        raise ConfigError(f"max_examples must be >= 1 (or None for the whole split), got {max_examples}")
    identity = dict(identity or {})
    folder = RunFolder(out_dir) if out_dir is not None else None
    settings = {**identity, "split": split, "max_examples": max_examples, "num_beams": num_beams,
                "max_length": max_length, "max_input_length": max_input_length}
    done: dict[str, TaskResult] = {}
    todo: list[tuple[Any, list[dict[str, str]]]] = []
    for task in tasks:
        task_settings = {**settings, "task": task.fingerprint}
        previous = read_task_result(folder.eval_summary(split, task.name)) if folder and not redo else None
        if previous is not None and previous.settings == task_settings:
            done[task.name] = previous
            continue
        todo.append((task, _examples(task, split, max_examples)))
    if done:
        log.info("eval: %d task(s) already evaluated with these settings: %s", len(done), ", ".join(sorted(done)))
    bar = tqdm(total=sum(len(ex) for _, ex in todo), disable=not progress, desc=f"eval {split}", unit="ex")
    was_training = bool(getattr(model, "training", False))
    model.eval()
    try:
        for task, examples in todo:
            bar.set_postfix_str(task.name)
            predictions = _decode(model, tokenizer, examples, batch_size=batch_size, num_beams=num_beams,
                                  max_length=max_length, max_input_length=max_input_length, autocast=autocast,
                                  progress=bar)
            result = score_task(task, examples, predictions, split=split,
                                settings={**settings, "task": task.fingerprint})
            if folder is not None:
                result = write_task(folder, result, examples, predictions)
            done[task.name] = result
    finally:
        bar.close()
        if was_training:
            model.train()
    return EvalResult.from_tasks(list(done.values()), split=split, skipped=dict(skipped or {}), run_dir=run_dir,
                                 checkpoint=identity.get("checkpoint"), step=identity.get("step"))


def _decode(model: Any, tokenizer: Any, examples: list[dict[str, str]], **options: Any) -> list[str]:
    from mixlab.evaluation.decode import generate

    return generate(model, tokenizer, [ex["inputs"] for ex in examples], **options)


def _examples(task: Any, split: str, max_examples: int | None) -> list[dict[str, str]]:
    rows = task.load(split)
    count = len(rows) if max_examples is None else min(len(rows), max_examples)
    return [task.format_at(rows, i, split) for i in range(count)]


def score_task(task: Any, examples: Sequence[dict[str, str]], predictions: Sequence[str], *, split: str,
               settings: dict[str, Any] | None = None) -> TaskResult:
    """A task's metrics on ``predictions`` of ``examples`` (both sides postprocessed first)."""
    post = postprocessor_for(task)
    targets = [post(ex["targets"]) for ex in examples]
    scored = [post(p) for p in predictions]
    names = tuple(task.metrics) or DEFAULT_METRICS
    values: dict[str, float] = {}
    for name in names:
        values.update(metric_table.get(name)(targets, scored))
    return TaskResult(task=task.name, family=task.family, split=split, num_examples=len(examples),
                      metrics=values, metric_names=names, settings=dict(settings or {}))


def write_task(folder: RunFolder, result: TaskResult, examples: Sequence[dict[str, str]],
               predictions: Sequence[str]) -> TaskResult:
    """Write the predictions file, then the metrics file (the completion marker), each atomically."""
    path = folder.eval_file(result.split, result.task)
    lines = (json.dumps({"index": i, "input": ex["inputs"], "target": ex["targets"], "prediction": p},
                        ensure_ascii=False) + "\n"
             for i, (ex, p) in enumerate(zip(examples, predictions, strict=True)))
    _atomic_write(path, "".join(lines))
    result = result.model_copy(update={"predictions": str(path)})
    _atomic_write(folder.eval_summary(result.split, result.task), task_result_json(result))
    return result


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(staging, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(staging, path)


# -- which tasks --------------------------------------------------------------------------------
def select_tasks(tasks: str | Sequence[str] | None, registry: Any, split: str, *,
                 manifest: Path | None = None) -> tuple[list[Any], dict[str, str]]:
    """The tasks to evaluate and ``{task: why not}`` for those left out.

    Names and globs: a name that is not registered raises ``TaskNotFoundError``, a glob that matches no
    task raises ``ConfigError``, a task named exactly that lacks ``split`` raises; tasks reached by a glob
    or the run's mixture that lack ``split`` or are self-supervised are left out with a warning.
    """
    if tasks is None:
        names, exact = _mixture_tasks(manifest), set()
    else:
        patterns = [p.strip() for p in ([tasks] if isinstance(tasks, str) else tasks) for p in p.split(",")]
        patterns = [p for p in patterns if p]
        if not patterns:
            raise ConfigError("no tasks given; fix: name tasks or glob patterns, e.g. 'wordnet/*'")
        names, exact = _expand(patterns, registry), {p for p in patterns if not _is_glob(p)}
    chosen, skipped = [], {}
    for name in names:
        task = registry.get(name)
        why = ("self-supervised (no targets to score)" if task.self_supervised
               else None if task.num_examples.get(split) else f"no {split!r} split")
        if why is None:
            chosen.append(task)
        elif name in exact:
            raise ConfigError(f"task {name!r} cannot be evaluated on {split!r}: {why}; fix: choose another split "
                              f"(it has {sorted(task.num_examples)}) or another task")
        else:
            skipped[name] = why
    missing = {n: w for n, w in skipped.items() if not w.startswith("self-supervised")}
    if missing:  # self-supervised tasks are expected in a mixture: listed in `skipped`, not warned about
        warnings.warn(f"eval: {len(missing)} task(s) left out: " + "; ".join(f"{n}: {w}" for n, w in missing.items()),
                      stacklevel=3)
    if not chosen:
        raise ConfigError(f"no task to evaluate on split {split!r} (left out: {skipped or 'none matched'}); "
                          "fix: name tasks that have this split (mixlab tasks lists them)")
    return chosen, skipped


def _is_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def _expand(patterns: list[str], registry: Any) -> list[str]:
    known = registry.names()
    out: list[str] = []
    for pattern in patterns:
        if not _is_glob(pattern):
            registry.get(pattern)  # TaskNotFoundError with close names
            matched = [pattern]
        else:
            matched = fnmatch.filter(known, pattern)
            if not matched:
                raise ConfigError(f"task pattern {pattern!r} matches no registered task; fix: check it against "
                                  "`mixlab tasks` (e.g. 'wordnet/*')")
        out += [m for m in matched if m not in out]
    return out


def _mixture_tasks(manifest: Path | None) -> list[str]:
    if manifest is None or not manifest.is_file():
        raise ConfigError(f"no tasks given and no mixture manifest at {manifest}; fix: pass tasks (e.g. 'wordnet/*')")
    try:
        leaves = json.loads(manifest.read_text(encoding="utf-8"))["tasks"]
        return [leaf["name"] for leaf in leaves]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"cannot read the tasks of {manifest} ({exc.__class__.__name__}: {exc}); fix: pass tasks "
                          "explicitly") from exc


def _load_registry() -> Any:
    from mixlab.registry import load_registry

    return load_registry()


__all__ = ["DEFAULT_METRICS", "evaluate", "evaluate_model", "score_task", "select_tasks",
           "write_task"]
