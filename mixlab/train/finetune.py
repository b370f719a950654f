"""``mixlab.finetune``: fine-tune a checkpoint on a task or mixture (ExT5 section 3), keeping the best model.

```
checkpoint (run folder | step_* | best/) --its run's config.yaml: model shape, tokenizer, lengths
   -> PretrainConfig: init_from the checkpoint (weights only: a fresh optimizer), lr_schedule "constant",
      model.dropout_rate 0.1, mixture = the task (or the mixture), teacher-forced eval off
   -> mixlab.train(hooks=[BestKeeper]): every eval_interval steps (and at the last step) decode the
      validation split (first eval_max_examples per task) and score it with the task metrics
      -> metrics.jsonl: eval_metrics, eval_score, best_value; a better value -> RUN_DIR/best/
         (model.pt + manifest.json: a checkpoint folder that evaluate() and init_from read; best.json)
```

The best model is chosen by ``best_metric``, a name :meth:`EvalResult.metric` answers: ``"overall"``
(the mean task score, the default), a metric key (``"accuracy"``: its mean over the tasks reporting
it), a family, a task, or ``"task:key"``. Higher is better for every metric mixlab has.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from mixlab.errors import ConfigError
from mixlab.run_folder import BEST_RECORD, CHECKPOINT_FORMAT, CHECKPOINT_MANIFEST, CONFIG, RunFolder, sha256_of

log = logging.getLogger(__name__)

#: ExT5 fine-tuning: dropout 0.1 (pre-training uses none)
FINETUNE_DROPOUT = 0.1


class BestCheckpoint(BaseModel):
    """The best evaluation so far: its step, the metric's name and value, and the folder holding the model."""

    model_config = ConfigDict(frozen=True)

    step: int
    metric: str
    value: float
    path: str
    metrics: dict[str, dict[str, float]] = {}


class FinetuneResult(BaseModel):
    """What :func:`finetune` returns: the run folder, steps done, the best checkpoint and every evaluation."""

    model_config = ConfigDict(frozen=True)

    out_dir: str
    step: int
    best: BestCheckpoint | None
    evals: list[dict[str, Any]]
    config: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return json.loads(self.model_dump_json())


def finetune(checkpoint: str | Path, task_or_mixture: str | dict[str, Any], *, out_dir: str | Path,
             steps: int = 1000, learning_rate: float = 1e-3, dropout_rate: float = FINETUNE_DROPOUT,
             batch_size: int | None = None, eval_interval: int | None = None, eval_max_examples: int | None = 200,
             eval_split: str = "validation", eval_tasks: str | list[str] | None = None, best_metric: str = "overall",
             eval_batch_size: int = 64, num_beams: int = 1, seed: int = 0, resume: bool = False,
             progress: bool = True, registry: Any = None, **overrides: Any) -> FinetuneResult:
    """Fine-tune ``checkpoint`` on a registered task's name, or a mixture (name, spec file or inline spec).

    A fresh Adafactor at a constant ``learning_rate``, dropout ``dropout_rate``; model shape, tokenizer and
    lengths come from the checkpoint's run (``overrides`` replace any other :class:`PretrainConfig` field,
    e.g. ``input_length``). Every ``eval_interval`` steps (default: ``steps // 5``) and at the last step, the
    model decodes ``eval_split`` of ``eval_tasks`` (default: the supervised tasks being trained on that have
    the split; the first ``eval_max_examples`` each) and the best by ``best_metric`` is saved to
    ``out_dir/best/``. ``resume=True`` continues a cut run (its best so far is kept).
    """
    from mixlab.evaluation.evaluate import select_tasks
    from mixlab.registry import load_registry
    from mixlab.train.loop import train

    registry = registry if registry is not None else load_registry()
    config = finetune_config(checkpoint, task_or_mixture, out_dir=out_dir, steps=steps, learning_rate=learning_rate,
                             dropout_rate=dropout_rate, batch_size=batch_size, eval_interval=eval_interval,
                             seed=seed, registry=registry, **overrides)
    if eval_tasks is None:  # the supervised tasks trained on that have the split
        from mixlab.samplers.resolve import resolve_mixture

        trained = resolve_mixture(config.mixture, registry=registry).tasks.values()
        tasks = [t for t in trained if not t.self_supervised and t.num_examples.get(eval_split)]
        if not tasks:
            raise ConfigError(f"no task being fine-tuned on is supervised and has a {eval_split!r} split to "
                              "evaluate; fix: pass eval_tasks= (or --eval-tasks) or another eval_split")
    else:
        tasks, _ = select_tasks(eval_tasks, registry, eval_split)
    keeper = BestKeeper(tasks, split=eval_split, interval=config.checkpoint_interval or steps,
                        max_examples=eval_max_examples, metric=best_metric, batch_size=eval_batch_size,
                        num_beams=num_beams, tokenizer_path=config.tokenizer, resume=resume)
    result = train(config, resume=resume, progress=progress, registry=registry, hooks=[keeper])
    return FinetuneResult(out_dir=str(result.out_dir), step=result.step, best=keeper.best, evals=keeper.evals,
                          config=config.to_dict())


def finetune_config(checkpoint: str | Path, task_or_mixture: str | dict[str, Any], *, out_dir: str | Path,
                    steps: int, learning_rate: float, dropout_rate: float = FINETUNE_DROPOUT,
                    batch_size: int | None = None, eval_interval: int | None = None, seed: int = 0,
                    registry: Any = None, **overrides: Any) -> Any:
    """The :class:`PretrainConfig` of a fine-tuning run (see :func:`finetune`); nothing is trained."""
    from mixlab.evaluation.loading import find_run_dir
    from mixlab.train.checkpoint import resolve_checkpoint
    from mixlab.train.config import PretrainConfig

    folder = resolve_checkpoint(checkpoint)
    base = PretrainConfig.from_file(find_run_dir(folder) / CONFIG)
    interval = eval_interval if eval_interval is not None else max(steps // 5, 1)
    if interval < 1:
        raise ConfigError(f"eval_interval must be >= 1, got {interval}; fix: evaluate every N >= 1 steps")
    mixture: str | dict[str, Any] = task_or_mixture
    if isinstance(task_or_mixture, dict):
        name = str(task_or_mixture.get("name", "mixture"))
    elif Path(task_or_mixture).suffix in (".yaml", ".yml", ".toml", ".json"):
        name = Path(task_or_mixture).stem
    else:
        name = task_or_mixture.replace("/", "-")
    if isinstance(task_or_mixture, str) and registry is not None and task_or_mixture in registry:
        mixture = {"name": f"finetune-{name}", "tasks": [task_or_mixture], "strategy": {"kind": "uniform"}}
    settings = {
        **base.to_dict(), "name": f"finetune-{name}", "mixture": mixture,
        "data": "mixture", "R": None, "loss_scaling": "none", "output_space_sizes": {},
        "model": {**base.model.model_dump(), "dropout_rate": dropout_rate}, "steps": steps,
        "learning_rate": learning_rate, "lr_schedule": "constant", "init_from": str(folder), "out_dir": str(out_dir),
        "eval_interval": 0, "checkpoint_interval": interval, "keep_checkpoints": 1, "seed": seed,
        "log_interval": max(min(interval, steps // 10 or 1), 1),
        **({"batch_size": batch_size} if batch_size is not None else {}), **overrides,
    }
    return PretrainConfig(**settings)


class BestKeeper:
    """A training hook: evaluate with task metrics every ``interval`` steps and at the last; keep the best model."""

    def __init__(self, tasks: list[Any], *, split: str, interval: int, max_examples: int | None, metric: str,
                 batch_size: int, num_beams: int, tokenizer_path: str | None, resume: bool) -> None:
        self.tasks, self.split, self.interval, self.metric = tasks, split, interval, metric
        self.max_examples, self.batch_size, self.num_beams = max_examples, batch_size, num_beams
        self.tokenizer_path = tokenizer_path
        self._tokenizer: Any = None
        self.best: BestCheckpoint | None = None
        self.evals: list[dict[str, Any]] = []
        self._resume = resume

    def __call__(self, trainer: Any) -> dict[str, Any] | None:
        if trainer.step % self.interval and trainer.step != trainer.config.steps:
            return None
        folder = RunFolder(trainer.out_dir)
        if self._resume and self.best is None:
            self.best = read_best(folder.best)
        result = self._evaluate(trainer)
        value = result.metric(self.metric)
        if value is None:
            raise ConfigError(f"best_metric {self.metric!r} is not among this evaluation's figures "
                              f"({', '.join(result.metric_names()[:20])}); fix: choose one of them")
        improved = math.isfinite(value) and (self.best is None or value > self.best.value)
        metrics = {task: dict(r.metrics) for task, r in result.tasks.items()}
        if improved:
            best = BestCheckpoint(step=trainer.step, metric=self.metric, value=value, path=str(folder.best),
                                  metrics=metrics)
            state = trainer.backend.state_dict(trainer.model, None)["model"]  # every process: FSDP gathers
            if trainer.backend.is_main:
                save_best(folder.best, state, best, save_fn=trainer.backend.save)
            self.best = best
        record = {"eval_metrics": metrics, "eval_score": result.overall, "best_value": self.best.value
                  if self.best else None}
        self.evals.append({"step": trainer.step, "value": value, "overall": result.overall, "improved": improved})
        log.info("step %d: %s = %.3f%s", trainer.step, self.metric, value, " (best so far)" if improved else "")
        return record

    def _evaluate(self, trainer: Any) -> Any:
        from mixlab.evaluation.evaluate import evaluate_model
        from mixlab.text import load_tokenizer

        if self._tokenizer is None:
            if self.tokenizer_path is None:
                raise ConfigError("fine-tuning evaluation decodes text and needs a tokenizer; fix: set tokenizer "
                                  "in the checkpoint's run config (or pass tokenizer=...)")
            self._tokenizer = load_tokenizer(self.tokenizer_path)
        config = trainer.config
        return evaluate_model(trainer.backend.unwrap(trainer.model), self._tokenizer, self.tasks, split=self.split,
                              max_examples=self.max_examples, batch_size=self.batch_size, num_beams=self.num_beams,
                              max_length=config.target_length, max_input_length=config.input_length,
                              progress=False, identity={"step": trainer.step}, autocast=trainer.backend.autocast)


def save_best(path: Path, state: dict[str, Any], best: BestCheckpoint, *, save_fn: Any) -> None:
    """Write ``path`` as a checkpoint folder (``model.pt``, ``manifest.json``) plus ``best.json``, atomically."""
    staging = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    model = staging / "model.pt"
    save_fn(state, str(model))
    files = {model.name: {"sha256": sha256_of(model), "bytes": model.stat().st_size}}
    manifest = {"format": CHECKPOINT_FORMAT, "step": best.step, "files": files}
    (staging / CHECKPOINT_MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    (staging / BEST_RECORD).write_text(best.model_dump_json(indent=1), encoding="utf-8")
    if path.exists():  # moved aside first: a kill leaves the old best or the new one, never half of one
        trash = path.with_name(f".{path.name}.trash-{os.getpid()}")
        shutil.rmtree(trash, ignore_errors=True)
        os.replace(path, trash)
        shutil.rmtree(trash, ignore_errors=True)
    os.replace(staging, path)


def read_best(path: str | Path) -> BestCheckpoint | None:
    """The ``best.json`` in ``path`` (a ``best/`` folder), or ``None`` when there is none or it is unreadable."""
    try:
        return BestCheckpoint.model_validate_json(Path(path, BEST_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


__all__ = ["FINETUNE_DROPOUT", "BestCheckpoint", "BestKeeper", "FinetuneResult", "finetune", "finetune_config",
           "read_best", "save_best"]
