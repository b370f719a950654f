"""``ExperimentSpec``: one study of the ExT5 paper as plain data (YAML, TOML or JSON), validated.

```yaml
name: wordnet-cotrain
protocol: cotrain                 # cotrain | r_sweep | task_scaling | pretrain_vs_prefinetune | sample_efficiency
seeds: [0]                        # every run is repeated per seed; tables report mean and std
train:                            # PretrainConfig fields shared by every training run
  model: tiny
  tokenizer: mixlab_wordnet:tokenizer_path     # a path, or module:function returning one
  batch_size: 8
  input_length: 64
  target_length: 16
finetune: {steps: 40}             # overrides for fine-tuning runs (defaults: ExT5 §3, constant lr, dropout 0.1)
eval: {split: validation, max_examples: 32, scorer: teacher_forced, metric: eval_accuracy}
resources: {num_cpus: 1, num_gpus: 0}          # per run (the Ray executor reserves them)
params: {...}                     # the protocol's own settings (see mixlab.experiments.protocols)
```

>>> spec = ExperimentSpec(name="x", protocol="r_sweep", train={"model": "tiny"},
...                       params={"self_supervised": "wordnet/text", "supervised": "wordnet", "R": [1, 2],
...                               "steps": 10, "targets": ["wordnet/pos"]})
>>> spec.eval.scorer, spec.eval.metric, spec.resources.num_cpus, spec.seeds
('task_metrics', 'score', 1.0, [0])
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from mixlab._spec import Spec
from mixlab.errors import ConfigError

#: teacher-forced metrics written by the interim scorer; the first is lower-is-better
TEACHER_FORCED_METRICS = ("eval_loss", "eval_accuracy")
#: what scorer task_metrics writes besides each metric's own keys: their mean, per task (t5's 0-100 scale)
TASK_SCORE = "score"
#: metrics where a lower value is better (tables and figures say so; cotrain refuses them)
LOWER_IS_BETTER = frozenset({"eval_loss", "loss", "ce"})

_HINTS = {
    "protocol": "name a registered protocol (mixlab.experiments.protocol_names())",
    "train": "give PretrainConfig fields, e.g. {model: tiny, tokenizer: ..., batch_size: 8}",
    "finetune": "give PretrainConfig fields for fine-tuning runs, e.g. {steps: 100, learning_rate: 0.001}",
    "seeds": "list one or more integer seeds, e.g. [0, 1, 2]",
}


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EvalSpec(_Section):
    """How every evaluation run scores a checkpoint."""

    split: str = "validation"
    max_examples: int | None = Field(default=64, gt=0,
                                     description="first N examples of each task's split (None: the whole split)")
    scorer: Literal["task_metrics", "teacher_forced"] = Field(
        default="task_metrics",
        description="task_metrics: decode and score with each task's metrics (mixlab.evaluate); teacher_forced: "
                    "eval_loss / eval_accuracy per task from one forward pass (fast; for models too small to decode)")
    metric: str = Field(default=None, validate_default=False,  # type: ignore[assignment]
                        description="the per-task number the tables use (default: score, or eval_accuracy when "
                                    "teacher-forced)")
    batch_size: int | None = Field(default=None, gt=0, description="default: the training batch size, at most 64")

    @model_validator(mode="before")
    @classmethod
    def _default_metric(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("metric") is None:
            teacher_forced = data.get("scorer") == "teacher_forced"
            return {**data, "metric": "eval_accuracy" if teacher_forced else "score"}
        return data

    @model_validator(mode="after")
    def _metric_fits_scorer(self) -> EvalSpec:
        if self.scorer == "teacher_forced" and self.metric not in TEACHER_FORCED_METRICS:
            raise ValueError(f"metric {self.metric!r} is not written by scorer 'teacher_forced'; "
                             f"fix: use one of {list(TEACHER_FORCED_METRICS)}, or scorer: task_metrics")
        return self

    @property
    def higher_is_better(self) -> bool:
        return self.metric not in LOWER_IS_BETTER


class Resources(_Section):
    """What one run needs; the Ray executor reserves it per task, the local one sets torch threads."""

    num_cpus: float = Field(default=1.0, gt=0)
    num_gpus: float = Field(default=0.0, ge=0)
    processes: int = Field(default=1, ge=1, description="training processes per run: > 1 launches each training "
                                                        "run with torchrun (DDP/FSDP, one per GPU) on its node")


class ExperimentSpec(Spec):
    """An experiment: a protocol, its parameters, and the settings its runs share."""

    spec_kind: ClassVar[str] = "experiment spec"
    spec_error: ClassVar[type[ConfigError]] = ConfigError
    spec_hints: ClassVar[dict[str, str]] = _HINTS

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
    protocol: str
    description: str = ""
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    train: dict[str, Any] = Field(default_factory=dict)
    finetune: dict[str, Any] = Field(default_factory=dict)
    eval: EvalSpec = Field(default_factory=EvalSpec)
    resources: Resources = Field(default_factory=Resources)
    params: dict[str, Any] = Field(default_factory=dict)
    _path: Path | None = PrivateAttr(default=None)

    @field_validator("seeds")
    @classmethod
    def _distinct(cls, seeds: list[int]) -> list[int]:
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds repeat: {seeds}; list each seed once")
        return seeds

    @field_validator("train", "finetune")
    @classmethod
    def _no_run_fields(cls, settings: dict[str, Any]) -> dict[str, Any]:
        owned = sorted({"out_dir", "init_from", "mixture", "R", "seed", "data"} & set(settings))
        if owned:
            raise ValueError(f"{owned} are set by the protocol for each run; fix: remove them here (the "
                             f"protocol's params choose mixtures, starts and seeds)")
        return settings

    @model_validator(mode="after")
    def _protocol_params(self) -> ExperimentSpec:
        from mixlab.experiments.protocols import get_protocol

        try:
            protocol = get_protocol(self.protocol)
        except LookupError as exc:
            raise ValueError(str(exc)) from None
        protocol.parse_params(self.params)  # raises ValueError naming params.<field>
        protocol.check_spec(self)
        return self

    @property
    def path(self) -> Path | None:
        """The file this spec was read from (relative tokenizer and mixture paths are read from its folder)."""
        return self._path

    @property
    def base(self) -> Path:
        return self._path.parent if self._path is not None else Path.cwd()

    @classmethod
    def from_file(cls, path: str | Path) -> ExperimentSpec:
        """Read a YAML (.yaml/.yml), TOML (.toml) or JSON (.json) spec; the name defaults to the file's stem."""
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"experiment spec {str(path)!r} does not exist; fix: give a .yaml/.toml/.json file "
                              f"(examples in examples/experiments/)")
        data = read_mapping(path)
        data.setdefault("name", path.stem)
        try:
            spec = cls(**data)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        spec._path = path.resolve()
        return spec

    def to_dict(self) -> dict[str, Any]:
        return json.loads(self.model_dump_json())


def read_mapping(path: Path) -> dict[str, Any]:
    """The mapping in a YAML, TOML or JSON file; ``ConfigError`` naming the file otherwise."""
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".toml":
            data: Any = tomllib.loads(text)
        elif path.suffix == ".json":
            data = json.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            raise ConfigError(f"{path}: unknown format {path.suffix!r}; use .yaml, .yml, .toml or .json")
    except ConfigError:
        raise
    except Exception as exc:  # parser errors differ by format; all mean the same to the user
        raise ConfigError(f"cannot parse {str(path)!r}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must hold a mapping of settings, got {type(data).__name__}")
    return data


__all__ = ["LOWER_IS_BETTER", "TEACHER_FORCED_METRICS", "EvalSpec", "ExperimentSpec", "Resources", "read_mapping"]
