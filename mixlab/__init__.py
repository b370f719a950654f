"""mixlab: design multi-task training mixtures the ExT5 way.

Importing mixlab is light (no torch, transformers or datasets): heavy parts load on
first attribute access.

>>> import mixlab
>>> mixlab.Task.__name__
'Task'
"""

from __future__ import annotations

import importlib
from typing import Any

from mixlab._optional import missing_dependency as _missing_dependency
from mixlab._version import __version__ as __version__
from mixlab.errors import (
    CheckpointError,
    ConfigError,
    DataError,
    DuplicateTaskError,
    MissingDependencyError,
    MixlabError,
    MixtureSpecError,
    PluginError,
    ResumeError,
    TaskNotFoundError,
    TaskSpecError,
)
from mixlab.registry import (
    PLUGIN_API_VERSION,
    CallableSource,
    FileSource,
    HFSource,
    Registry,
    Task,
    load_registry,
    task_plugin,
)

# Public names defined in modules that are imported on first use.
_LAZY: dict[str, str] = {
    # samplers and mixtures
    "Mixture": "mixlab.samplers",
    "MixtureSpec": "mixlab.samplers",
    "get_mixture": "mixlab.samplers",
    "list_mixtures": "mixlab.samplers",
    "mixture_plugin": "mixlab.samplers",
    "resolve_mixture": "mixlab.samplers",
    "per_example": "mixlab.samplers",
    "strategies": "mixlab.samplers",
    "MixtureSchedule": "mixlab.samplers.mixture_schedule",
    # the stream
    "MixtureStream": "mixlab.stream",
    # mixtures that change during training
    "policies": "mixlab.policies",
    # text -> tensors
    "Tokenizer": "mixlab.text",
    "load_tokenizer": "mixlab.text",
    "train_sentencepiece": "mixlab.text",
    "span_corruption": "mixlab.text",
    "BatchConfig": "mixlab.text",
    "batches": "mixlab.text",
    # affinity
    "affinity": "mixlab.affinity",
    # mixture search from results (RegMix, mixing laws)
    "search": "mixlab.search",
    # experiments: the paper's protocols as specs, run on a process pool or Ray
    "experiments": "mixlab.experiments",
    "ExperimentSpec": "mixlab.experiments",
    "run_experiment": "mixlab.experiments",
    # reports
    "report": "mixlab.report",
    # training
    "PretrainConfig": "mixlab.train",
    "pretrain": "mixlab.train:train",
    "finetune": "mixlab.train.finetune:finetune",
    # evaluation
    "evaluate": "mixlab.evaluation.evaluate:evaluate",
    "get_backend": "mixlab.backends",
}

__all__ = [
    "PLUGIN_API_VERSION", "CallableSource", "CheckpointError", "ConfigError", "DataError",
    "DuplicateTaskError", "FileSource", "HFSource", "MissingDependencyError", "MixlabError", "MixtureSpecError",
    "PluginError",
    "Registry", "ResumeError", "Task", "TaskNotFoundError", "TaskSpecError", "load_registry",
    "task_plugin", *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        if name == "MixtureDataset":  # removed: mixlab.text's __getattr__ raises, naming the replacement
            return importlib.import_module("mixlab.text").MixtureDataset
        raise AttributeError(f"module 'mixlab' has no attribute {name!r}")
    module, _, attr = module.partition(":")
    try:
        target = importlib.import_module(module)
    except ModuleNotFoundError as exc:  # an optional dependency: one line naming the extra that installs it
        error = _missing_dependency(exc, f"mixlab.{name}")
        if error is None:
            raise
        raise error from exc
    value = target if not attr and module.rsplit(".", 1)[-1] == name else getattr(target, attr or name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
