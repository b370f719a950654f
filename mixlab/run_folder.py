"""The run folder: its file names, its metric records, its checkpoint check and its reader, in one place.

``mixlab.train`` writes it, ``mixlab.report`` and the experiment runner read it::

    RUN_DIR/config.yaml                  the resolved training config (PretrainConfig.to_dict())
    RUN_DIR/mixture_manifest.json        the mixture: tasks, rates, families, provenance (Mixture.manifest())
    RUN_DIR/env.json                     versions, platform, device, git commit (mixlab.environment),
                                         the resolved model shape and vocabulary, num_parameters
    RUN_DIR/metrics.jsonl                one JSON object per logged step; keys in METRIC_KEYS
    RUN_DIR/tensorboard/                 the same records as TensorBoard events (when tensorboard is installed)
    RUN_DIR/checkpoints/step_XXXXXXX/    model.pt, optimizer.pt, trainer.pt, manifest.json (written last)
    RUN_DIR/eval/<split>/<task>.jsonl    per-example evaluation outputs: input, target, prediction (mixlab eval)
    RUN_DIR/eval/<split>/<task>.metrics.json  that task's metrics, written last (mixlab.evaluation.results)
    RUN_DIR/best/                        mixlab.finetune: the best checkpoint by a metric, with best.json
    RUN_DIR/affinity.csv                 optional: a transfer results table the report shows

:func:`load` reads a run into a :class:`Run` and refuses a folder that is not a run
(:class:`~mixlab.errors.NotARunError`); inside a run, a missing or malformed file becomes a sentence in
``Run.notes`` (keyed by the part it concerns), never an error.

>>> folder = RunFolder("runs/x")
>>> folder.checkpoint(42).as_posix(), folder.eval_file("validation", "glue/rte").as_posix()
('runs/x/checkpoints/step_0000042', 'runs/x/eval/validation/glue/rte.jsonl')
>>> step_of("step_0000042"), step_of("step_42")
(42, None)
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mixlab.errors import NotARunError

CONFIG = "config.yaml"
MIXTURE_MANIFEST = "mixture_manifest.json"
ENV = "env.json"
METRICS = "metrics.jsonl"
TENSORBOARD = "tensorboard"
CHECKPOINTS = "checkpoints"
EVAL = "eval"
EVAL_SUMMARY_SUFFIX = ".metrics.json"
BEST = "best"
BEST_RECORD = "best.json"
AFFINITY = "affinity.csv"
#: a folder holding any of these is a run (the trainer writes the first four before its first step)
RUN_MARKERS = (CONFIG, METRICS, MIXTURE_MANIFEST, ENV, CHECKPOINTS)

CHECKPOINT_MANIFEST = "manifest.json"
CHECKPOINT_FORMAT = 1
STEP_DIR = re.compile(r"^step_(\d{7,})$")

#: every key ``mixlab.train`` writes to ``metrics.jsonl``; a training record and an eval record
#: are separate lines that share ``step``
METRIC_KEYS: dict[str, str] = {
    "step": "optimizer steps done when the record was written (every record has it)",
    "loss": "mean training loss of the steps since the last record (z-loss and task weights included)",
    "ce": "token-level cross-entropy over those steps' target tokens",
    "accuracy": "share of target tokens predicted exactly (teacher forcing)",
    "lr": "learning rate of the last step",
    "task_loss": "task -> mean cross-entropy over its target tokens (tasks without tokens left out)",
    "task_tokens": "task -> number of its target tokens",
    "tokens": "non-padding input and target tokens, all processes",
    "tokens_per_s": "tokens per wall-clock second",
    "steps_per_s": "steps per wall-clock second",
    "data_share": "share of wall time spent waiting for the input pipeline",
    "data": "this process's data counters (num_bad_rows, num_truncated, ...), when the source keeps them",
    "batch_digests": "a short hash of each step's batch (log_batch_digest: true)",
    "example_digests": "per step, an order-independent digest of the global batch's examples, all processes "
                       "(log_batch_digest: true; the same on any number of processes)",
    "task_weights": "task -> probability the training data is drawn with now (changes under a schedule or policy)",
    "policy": "with a policy or schedule: kind, its weights, its per-task signal (DoReMi: excess loss; ODM: reward) "
              "and DoReMi's running average",
    "task_example_share": "task -> its share of the training examples (decoder segments) in those steps' "
                          "batches, all processes (compare with the mixture's probabilities)",
    "task_token_share": "task -> its share of those batches' non-padding input and target tokens",
    "eval_loss": "eval record: cross-entropy over the eval batches' target tokens",
    "eval_accuracy": "eval record: share of eval target tokens predicted exactly",
    "eval_task_loss": "eval record: task -> mean cross-entropy over its eval target tokens",
    "eval_metrics": "fine-tuning eval record (mixlab.finetune): task -> {metric key: value, 0-100} on decoded outputs",
    "eval_score": "fine-tuning eval record: the mean task score (each task's mean metric value)",
    "best_value": "fine-tuning eval record: the best value so far of the metric that chooses RUN_DIR/best/",
}
EVAL_KEYS = ("step", "eval_loss", "eval_accuracy", "eval_task_loss")
#: at most this many malformed metric lines are quoted
MAX_QUOTED_BAD_LINES = 5


class RunFolder:
    """The paths of one run folder (nothing is read or created)."""

    __slots__ = ("root",)

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.root)!r})"

    @property
    def config(self) -> Path:
        return self.root / CONFIG

    @property
    def mixture_manifest(self) -> Path:
        return self.root / MIXTURE_MANIFEST

    @property
    def env(self) -> Path:
        return self.root / ENV

    @property
    def metrics(self) -> Path:
        return self.root / METRICS

    @property
    def tensorboard(self) -> Path:
        return self.root / TENSORBOARD

    @property
    def checkpoints(self) -> Path:
        return self.root / CHECKPOINTS

    @property
    def affinity(self) -> Path:
        return self.root / AFFINITY

    def checkpoint(self, step: int) -> Path:
        return self.checkpoints / step_dir_name(step)

    def eval_file(self, split: str, task: str) -> Path:
        """``eval/<split>/<task>.jsonl`` (a task's ``/`` makes sub-folders)."""
        for label, value in (("split", split), ("task", task)):
            if not value or value.startswith("/") or ".." in value.split("/"):
                raise ValueError(f"eval file: {label} {value!r} must be a non-empty relative name without '..'")
        return self.root / EVAL / split / f"{task}.jsonl"

    def eval_summary(self, split: str, task: str) -> Path:
        """``eval/<split>/<task>.metrics.json``: a task's metrics, written after its predictions (its completion
        marker; :mod:`mixlab.evaluation.results` reads them)."""
        return self.eval_file(split, task).with_name(f"{task.rsplit('/', 1)[-1]}{EVAL_SUMMARY_SUFFIX}")

    @property
    def eval_dir(self) -> Path:
        return self.root / EVAL

    @property
    def best(self) -> Path:
        """``best/``: a checkpoint folder (``model.pt``, ``manifest.json``) plus ``best.json`` (step, metric, value)."""
        return self.root / BEST


def step_dir_name(step: int) -> str:
    return f"step_{step:07d}"


def step_of(name: str) -> int | None:
    """The step of a checkpoint folder name (``step_XXXXXXX``, seven digits or more), else ``None``."""
    match = STEP_DIR.match(name)
    return int(match.group(1)) if match else None


def is_run(path: str | Path) -> bool:
    """Whether ``path`` is a folder holding any of :data:`RUN_MARKERS`."""
    path = Path(path)
    return path.is_dir() and any((path / name).exists() for name in RUN_MARKERS)


def check_run(path: str | Path) -> Path:
    """``path`` as a ``Path`` if it is a run folder, else :class:`NotARunError` saying why and what to give."""
    path = Path(path)
    if is_run(path):
        return path
    why = ("it does not exist" if not path.exists() else "it is a file" if not path.is_dir()
           else f"it holds none of {', '.join(RUN_MARKERS)}/")
    raise NotARunError(f"not a run folder {str(path)!r}: {why}; fix: give the folder a training run wrote "
                       f"(mixlab train CONFIG --out RUN_DIR)")


# -- metrics ------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class MetricsScan:
    """``metrics.jsonl`` read: its records, and the lines that are not records (counted, a few quoted).

    A last line without its newline that does not parse was cut by a killed run: it is left out and
    flagged in ``cut_last_line``, not counted as malformed.
    """

    records: list[dict[str, Any]]
    num_bad_lines: int = 0
    bad_lines: list[str] = field(default_factory=list)
    cut_last_line: bool = False


def parse_metric_line(line: str) -> dict[str, Any] | None:
    """A record (a JSON object with a finite numeric ``step``), else ``None``."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    step = record.get("step")
    if isinstance(step, bool) or not isinstance(step, int | float) or not math.isfinite(step):
        return None
    return record


def scan_metrics(path: str | Path) -> MetricsScan:
    """Read a ``metrics.jsonl`` file (``FileNotFoundError`` when there is none); blank lines are skipped."""
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    lines = text.splitlines()
    cut = bool(lines) and not text.endswith("\n") and parse_metric_line(lines[-1]) is None
    records: list[dict[str, Any]] = []
    bad: list[str] = []
    num_bad = 0
    for number, line in enumerate(lines[:-1] if cut else lines, start=1):
        if not line.strip():
            continue
        record = parse_metric_line(line)
        if record is None:
            num_bad += 1
            if len(bad) < MAX_QUOTED_BAD_LINES:
                bad.append(f"line {number}: {line.strip()[:120]}")
        else:
            records.append(record)
    return MetricsScan(records=records, num_bad_lines=num_bad, bad_lines=bad, cut_last_line=cut)


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    """The records of ``RUN_DIR/metrics.jsonl``; malformed lines and a line cut by a killed run are left out."""
    return scan_metrics(RunFolder(run_dir).metrics).records


# -- checkpoints --------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Checkpoint:
    """A ``step_XXXXXXX`` folder: its step, size, file count, and ``problem`` (``None`` when it verifies)."""

    step: int
    path: Path
    num_bytes: int
    num_files: int
    problem: str | None


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checkpoint_steps(root: str | Path) -> list[int]:
    """Steps of the ``step_XXXXXXX`` folders directly under ``root`` (a checkpoints folder), ascending."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(step for p in root.iterdir() if (step := step_of(p.name)) is not None and p.is_dir())


def verify(folder: str | Path, *, deep: bool = True) -> str | None:
    """``None`` when checkpoint ``folder`` is complete and matches its ``manifest.json``, else why not.

    ``deep`` compares every file's SHA-256 (what resume does); ``deep=False`` compares sizes only (what
    the report does: hashing every checkpoint would make it slow).
    """
    folder = Path(folder)
    try:
        manifest = json.loads((folder / CHECKPOINT_MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return f"no readable {CHECKPOINT_MANIFEST} ({exc.__class__.__name__})"
    if not isinstance(manifest, dict) or manifest.get("format") != CHECKPOINT_FORMAT:
        got = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        return f"{CHECKPOINT_MANIFEST} has format {got!r}, expected {CHECKPOINT_FORMAT} (corrupted or another mixlab)"
    files = manifest.get("files")
    if (not isinstance(files, dict) or not files
            or not all(isinstance(m, dict) and {"bytes", "sha256"} <= set(m) for m in files.values())):
        return f"{CHECKPOINT_MANIFEST} lists no files with sizes and checksums (corrupted)"
    for name, meta in files.items():
        path = folder / name
        if not path.is_file():
            return f"{name} is missing"
        size = path.stat().st_size
        if size != meta["bytes"]:
            return (f"{name} does not match its checksum: it has {size} bytes, the manifest says "
                    f"{meta['bytes']} (truncated or partly written)")
        if deep and sha256_of(path) != meta["sha256"]:
            return f"{name} does not match its checksum: SHA-256 differs (corrupted: bytes changed on disk)"
    return None


def list_checkpoints(run_dir: str | Path, *, deep: bool = False) -> list[Checkpoint]:
    """The run's checkpoints, ascending by step, each verified (sizes only unless ``deep``)."""
    root = RunFolder(run_dir).checkpoints
    found = []
    for step in checkpoint_steps(root):
        folder = root / step_dir_name(step)
        files = [f for f in folder.rglob("*") if f.is_file()]
        found.append(Checkpoint(step=step, path=folder, num_files=len(files),
                                num_bytes=sum(f.stat().st_size for f in files), problem=verify(folder, deep=deep)))
    return found


# -- the whole run ------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Run:
    """Everything recorded about one run folder; ``None`` marks a missing part (why: ``notes[part]``)."""

    path: Path
    config: dict[str, Any] | None
    config_file: str | None
    metrics: list[dict[str, Any]]
    num_bad_lines: int
    bad_lines: list[str]
    manifest: dict[str, Any] | None
    env: dict[str, Any] | None
    checkpoints: list[Checkpoint]
    notes: dict[str, str] = field(default_factory=dict)
    cut_last_line: bool = False


def load(run_dir: str | Path, *, deep: bool = False) -> Run:
    """Read the run folder ``run_dir``; :class:`NotARunError` when it is not one (see :func:`check_run`).

    Missing or malformed files inside it become ``Run.notes``; checkpoints are verified by size
    (``deep=True``: by SHA-256).
    """
    folder = RunFolder(check_run(run_dir))
    notes: dict[str, str] = {}
    config = _read_config(folder.config, notes)
    scan = MetricsScan(records=[])
    if not folder.metrics.is_file():
        notes["metrics"] = f"no {METRICS} in the run folder"
    else:
        scan = scan_metrics(folder.metrics)
        if not scan.records:
            notes["metrics"] = f"{METRICS} has no valid records"
    checkpoints = list_checkpoints(folder.root, deep=deep)
    if not folder.checkpoints.is_dir():
        notes["checkpoints"] = f"no {CHECKPOINTS}/ folder in the run folder"
    elif not checkpoints:
        notes["checkpoints"] = f"{CHECKPOINTS}/ holds no step_XXXXXXX folders"
    return Run(path=folder.root, config=config, config_file=CONFIG if folder.config.is_file() else None,
               metrics=scan.records, num_bad_lines=scan.num_bad_lines, bad_lines=scan.bad_lines,
               cut_last_line=scan.cut_last_line, manifest=_read_json_object(folder.mixture_manifest, "manifest", notes),
               env=_read_json_object(folder.env, "env", notes), checkpoints=checkpoints, notes=notes)


def _read_config(file: Path, notes: dict[str, str]) -> dict[str, Any] | None:
    if not file.is_file():
        notes["config"] = f"no {file.name} in the run folder"
        return None
    import yaml

    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        notes["config"] = f"{file.name} could not be parsed ({exc.__class__.__name__}: {exc})"
        return None
    if not isinstance(data, dict):
        notes["config"] = f"{file.name} holds a {type(data).__name__}, not a mapping"
        return None
    return data


def _read_json_object(file: Path, key: str, notes: dict[str, str]) -> dict[str, Any] | None:
    if not file.is_file():
        notes[key] = f"no {file.name} in the run folder"
        return None
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        notes[key] = f"{file.name} could not be read ({exc.__class__.__name__}: {exc})"
        return None
    if not isinstance(data, dict):
        notes[key] = f"{file.name} holds a {type(data).__name__}, not a JSON object"
        return None
    return data


__all__ = [
    "AFFINITY", "BEST", "BEST_RECORD", "CHECKPOINTS", "CHECKPOINT_FORMAT", "CHECKPOINT_MANIFEST", "CONFIG", "ENV",
    "EVAL", "EVAL_KEYS", "EVAL_SUMMARY_SUFFIX", "METRICS", "METRIC_KEYS", "MIXTURE_MANIFEST", "RUN_MARKERS",
    "STEP_DIR", "TENSORBOARD", "Checkpoint", "MetricsScan", "Run", "RunFolder", "check_run", "checkpoint_steps",
    "is_run", "list_checkpoints", "load", "parse_metric_line", "read_metrics", "scan_metrics", "sha256_of",
    "step_dir_name", "step_of", "verify",
]
