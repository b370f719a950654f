"""Tiny experiment specs for the tests: the tiny T5 on WordNet, a few steps, fp32 on the CPU."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "experiments"

TRAIN = {"model": "tiny", "tokenizer": "mixlab_wordnet:tokenizer_path", "batch_size": 4, "input_length": 32,
         "target_length": 12, "learning_rate": 0.01, "warmup_steps": 2, "log_interval": 2,
         "backend": {"precision": "fp32", "device": "cpu"}}
EVAL = {"max_examples": 8, "scorer": "teacher_forced", "metric": "eval_accuracy"}


def tiny_cotrain(**params: Any) -> dict[str, Any]:
    """Two one-task groups, 4 co-training steps: 3 training runs, 5 eval runs."""
    settings = {"groups": {"CLS": ["wordnet/pos"], "SEM": ["wordnet/antonym"]}, "steps": 4, **params}
    return {"name": "tiny-cotrain", "protocol": "cotrain", "train": dict(TRAIN), "eval": dict(EVAL),
            "params": settings}


def write_spec(folder: Path, spec: dict[str, Any], name: str = "spec.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


#: the protocols this package ships (other protocols' examples are tested with their protocol)
BUILTIN = ("cotrain", "r_sweep", "task_scaling", "pretrain_vs_prefinetune", "sample_efficiency")


def examples(prefix: str = "") -> list[Path]:
    """The example experiment specs of the built-in protocols."""
    return [p for p in sorted(EXAMPLES.glob(f"{prefix}*.yaml"))
            if yaml.safe_load(p.read_text()).get("protocol") in BUILTIN]


#: per protocol: how to shrink an example's params to a few steps (the structure stays as shipped)
SHRINK = {
    "cotrain": lambda p: {**p, "steps": 4, **({"start": {**p["start"], "steps": 2}} if "start" in p else {})},
    "r_sweep": lambda p: {**p, "steps": 3, "finetune_steps": min(p.get("finetune_steps", 0), 2)},
    "task_scaling": lambda p: {**p, "steps": 3, "finetune_steps": min(p.get("finetune_steps", 0), 2)},
    "pretrain_vs_prefinetune": lambda p: {**p, "pretrain_steps": 3, "prefinetune_steps": 2,
                                          "finetune_steps": min(p.get("finetune_steps", 0), 2)},
    "sample_efficiency": lambda p: {**p, "steps": [2, 4], "finetune_steps": min(p.get("finetune_steps", 0), 2)},
    "regmix": lambda p: {**p, "steps": 2, "num_mixtures": 14, "folds": 2, "kind": "linear", "candidates": 200,
                         "top_k": 10, "compare_seeds": [0]},
}


def shrunk(example: Path) -> dict[str, Any]:
    """An example spec with a few steps per run, tiny batches and 8 eval examples per task."""
    spec = yaml.safe_load(example.read_text())
    spec = copy.deepcopy(spec)
    spec["train"] = {**spec["train"], "batch_size": 4, "input_length": 32, "target_length": 12, "log_interval": 2,
                     "warmup_steps": 2}
    spec["eval"] = {**spec.get("eval", {}), "max_examples": 8}
    spec["params"] = SHRINK[spec["protocol"]](spec["params"])
    return spec
