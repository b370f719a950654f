"""``PretrainConfig``: one validated record describing an ExT5-style (pre-)training run.

Load it from YAML or TOML with :meth:`PretrainConfig.from_file`; every error names the field and
the fix. Full-scale ExT5 values are the defaults except ``model`` (``tiny`` is for tests) and
``steps``/``batch_size`` (1M x 2048 in the paper).
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mixlab._loaders import load_json, load_yaml
from mixlab._spec import Spec
from mixlab.backends.base import PARALLELISM, PRECISIONS
from mixlab.errors import ConfigError
from mixlab.policies.spec import PolicySpec
from mixlab.train.model import PRESETS

_HINTS = {
    "model": f"use a preset name ({', '.join(PRESETS)}) or {{preset: ..., d_model: ...}}",
    "mixture": "give a mixture name (see `mixlab mixtures`), a spec file path, or an inline spec dict",
    "R": "set R only for an rmix mixture (ExT5 used R=2); leave it out to keep the mixture's own",
    "warmup_steps": "use >= 1 (ExT5: 10000 at full scale; scale it down with steps)",
    "loss_scaling": "use 'none' or 'muppet' (with output_space_sizes)",
    "data": "use 'mixture' (default) or 'synthetic'",
    "backend": "e.g. {name: torch, precision: bf16, parallel: ddp}",
    "backend.device": "use 'auto' (CUDA when available), 'cpu', 'cuda' or 'cuda:N'",
    "policy": "e.g. {kind: doremi, reference: runs/ref} or {kind: odm} (docs/training.md)",
}


class _Section(BaseModel):
    """A nested section of ``PretrainConfig`` (its errors are reported with the full field path)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ModelSpec(_Section):
    """A T5.1.1 preset, optionally with single dimensions overridden."""

    preset: str = "tiny"
    vocab_size: int | None = Field(default=None, gt=0, description="default: the tokenizer's, else 32128")
    dropout_rate: float = Field(default=0.0, ge=0.0, lt=1.0, description="0 in pre-training (T5.1.1)")
    d_model: int | None = Field(default=None, gt=0)
    d_ff: int | None = Field(default=None, gt=0)
    num_heads: int | None = Field(default=None, gt=0)
    d_kv: int | None = Field(default=None, gt=0)
    num_layers: int | None = Field(default=None, gt=0)
    num_decoder_layers: int | None = Field(default=None, gt=0)

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, preset: str) -> str:
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose one of {list(PRESETS)}")
        return preset

    @property
    def shape(self) -> dict[str, int]:
        overrides = {k: getattr(self, k) for k in PRESETS["tiny"] if getattr(self, k) is not None}
        return {**PRESETS[self.preset], **overrides}


class BackendSpec(_Section):
    """Which backend runs the loop and how (``auto`` picks per device / process count)."""

    name: Literal["torch", "xla"] = "torch"
    precision: Literal[PRECISIONS] = "auto"  # type: ignore[valid-type]
    parallel: Literal[PARALLELISM] = "auto"  # type: ignore[valid-type]
    compile_model: bool = Field(default=False, description="torch.compile the model (torch backend)")
    device: str = Field(default="auto", pattern=r"^(auto|cpu|cuda(:\d+)?)$",
                        description="torch backend: 'auto' (CUDA when available), 'cpu', 'cuda' or 'cuda:N'")

    @model_validator(mode="after")
    def _device_is_torch_only(self) -> BackendSpec:
        if self.name == "xla" and self.device != "auto":
            raise ValueError(f"device {self.device!r} is for the torch backend; the xla backend uses every "
                             f"device PJRT gives it (set PJRT_DEVICE); fix: leave device at 'auto'")
        return self

    def options(self) -> dict[str, Any]:
        options = {"precision": self.precision, "parallel": self.parallel, "compile_model": self.compile_model}
        return {**options, "device": self.device} if self.name == "torch" else options


class PretrainConfig(Spec):
    """An ExT5 (pre-)training run: model, mixture, batches, Adafactor + rsqrt schedule, checkpoints.

    >>> cfg = PretrainConfig(mixture="wordnet-ext5", steps=10, warmup_steps=5)
    >>> cfg.model.preset, cfg.learning_rate, cfg.input_length, cfg.target_length
    ('tiny', 0.01, 512, 114)
    """

    spec_kind: ClassVar[str] = "pretrain config"
    spec_error: ClassVar[type[ConfigError]] = ConfigError
    spec_hints: ClassVar[dict[str, str]] = _HINTS

    name: str = "run"
    model: ModelSpec = Field(default_factory=ModelSpec)
    mixture: str | dict[str, Any] | None = None
    data: Literal["mixture", "synthetic"] = Field(
        default="mixture", description="'synthetic': seeded copy-task batches (smoke tests, benchmarks); no mixture")
    R: float | None = Field(default=None, gt=0, description="override the rmix ratio of the mixture")
    tokenizer: str | None = Field(default=None, description="SentencePiece model or HF tokenizer directory")
    batch_size: int = Field(default=128, gt=0, description="global batch size (rows), split over processes")
    input_length: int = Field(default=512, ge=2)
    target_length: int = Field(default=114, ge=2)
    pack: bool = True
    steps: int = Field(gt=0)
    learning_rate: float = Field(default=0.01, gt=0)
    warmup_steps: int = Field(default=10_000, ge=1)
    lr_schedule: Literal["rsqrt", "constant"] = Field(
        default="rsqrt", description="'rsqrt': learning_rate for warmup_steps, then 1/sqrt(step) (pre-training); "
                                     "'constant': learning_rate at every step (fine-tuning, ExT5 section 3)")
    z_loss: float = Field(default=0.0, ge=0)
    loss_scaling: Literal["none", "muppet"] = "none"
    output_space_sizes: dict[str, int] = Field(default_factory=dict,
                                               description="task -> output-space size n for Muppet (weight 1/log n)")
    seed: int = 0
    checkpoint_interval: int = Field(default=1000, ge=0, description="steps between checkpoints; 0 = only the last")
    keep_checkpoints: int = Field(default=3, ge=1)
    log_interval: int = Field(default=100, gt=0)
    eval_interval: int = Field(default=0, ge=0, description="steps between teacher-forced evals; 0 = off")
    eval_batches: int = Field(default=10, gt=0)
    eval_split: str = "validation"
    out_dir: str = "runs/ext5"
    init_from: str | None = Field(default=None, description="checkpoint dir whose model weights start the run")
    on_bad_row: Literal["error", "skip"] = Field(
        default="error", description="a data row that cannot be formatted: raise DataError, or skip and count it")
    log_batch_digest: bool = Field(default=False, description="log a short hash of each step's input_ids/labels "
                                                              "(metrics.jsonl 'batch_digests'; checks exact resume)")
    data_shards: int | None = Field(default=None, gt=0, description="virtual data shards (default: the process "
                                    "count at the start); a run resumes on any process count that divides it")
    policy: PolicySpec | None = Field(default=None, description="how the mixture weights move during training: "
                                      "{kind: doremi | odm | schedule, ...} (docs/training.md)")
    backend: BackendSpec = Field(default_factory=BackendSpec)

    @field_validator("model", mode="before")
    @classmethod
    def _preset_shorthand(cls, model: Any) -> Any:
        return {"preset": model} if isinstance(model, str) else model

    @field_validator("output_space_sizes")
    @classmethod
    def _sizes_above_one(cls, sizes: dict[str, int]) -> dict[str, int]:
        bad = {k: v for k, v in sizes.items() if v < 2}
        if bad:
            raise ValueError(f"output-space sizes must be >= 2 (weight 1/log n), got {bad}")
        return sizes

    @model_validator(mode="after")
    def _check_combinations(self) -> PretrainConfig:
        if self.data == "mixture" and self.mixture is None:
            raise ValueError("no mixture given; fix: set mixture to a name (e.g. wordnet-ext5), a spec file or an "
                             "inline spec, or set data: synthetic")
        if self.data == "synthetic" and self.policy is not None:
            raise ValueError(f"policy {self.policy.kind!r} moves mixture weights but data is 'synthetic' (no mixture); "
                             "fix: remove policy or train on a mixture")
        if self.data == "synthetic" and self.R is not None:
            raise ValueError("R is set but data is 'synthetic', so it does nothing; fix: remove R")
        if self.loss_scaling == "muppet" and not self.output_space_sizes:
            raise ValueError("loss_scaling='muppet' needs output_space_sizes (task -> number of labels); "
                             "fix: add them or set loss_scaling: none")
        if self.output_space_sizes and self.loss_scaling != "muppet":
            raise ValueError("output_space_sizes is set but loss_scaling is 'none', so it does nothing; "
                             "fix: set loss_scaling: muppet or remove output_space_sizes")
        return self

    @classmethod
    def from_file(cls, path: str | Path, **overrides: Any) -> PretrainConfig:
        """Read a YAML (.yaml/.yml), TOML (.toml) or JSON file; ``overrides`` replace top-level fields.

        Relative ``mixture``/``tokenizer``/``init_from`` paths (and a policy's ``reference`` run, and the
        spec files an inline ``mixture`` names) that exist next to the file are resolved against its folder.
        """
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file {str(path)!r} does not exist")
        data = _read(path)
        if not isinstance(data, dict):
            raise ConfigError(f"config file {str(path)!r} must hold a mapping of settings, got {type(data).__name__}")
        policy = data.get("policy")
        places: list[tuple[dict[str, Any], str]] = [(data, k) for k in ("mixture", "tokenizer", "init_from")]
        if isinstance(policy, dict):
            places.append((policy, "reference"))
        for holder, key in places:
            value = holder.get(key)
            if isinstance(value, str) and not Path(value).is_absolute() and (path.parent / value).exists():
                holder[key] = str(path.parent / value)
        if isinstance(data.get("mixture"), dict):  # an inline spec names its spec files relative to this file too
            from mixlab.samplers.spec import absolute_references

            data["mixture"] = absolute_references(data["mixture"], path.parent)
        data.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls(**data)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        return json.loads(self.model_dump_json())


def _read(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".toml":
            return tomllib.loads(text)
        if path.suffix == ".json":
            return load_json(text)
        if path.suffix in (".yaml", ".yml"):
            return load_yaml(text)  # refuses a key written twice (PyYAML would keep the last)
    except Exception as exc:  # parser errors differ by format; all mean the same to the user
        raise ConfigError(f"cannot parse config file {str(path)!r}: {exc}") from exc
    raise ConfigError(f"config file {str(path)!r}: unknown format {path.suffix!r}; use .yaml, .yml, .toml or .json")
