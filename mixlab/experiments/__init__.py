"""Experiments: the ExT5 paper's studies as specs, run as hashed, resumable runs on a process pool or Ray.

```
ExperimentSpec (YAML/TOML: protocol, params, train, finetune, eval, resources)
   -> protocol.expand -> runs (pretrain | finetune | eval), each keyed by the hash of its resolved config
   -> executor: local process pool (default) | Ray tasks (clusters)   -- torchrun / xla inside a run
   -> DIR/results.sqlite (one row per run) -> protocol.summarize -> paper-style CSV tables and figures
   -> `mixlab experiment report DIR`: one HTML page
```

A rerun of the same spec in the same folder skips finished runs and resumes cut ones.

>>> from mixlab.experiments import protocol_names
>>> {"cotrain", "r_sweep", "regmix"} <= set(protocol_names())  # built-ins (others plug in by entry point)
True
"""

from __future__ import annotations

from mixlab.experiments.protocols import get_protocol, protocol_names, register_protocol
from mixlab.experiments.protocols.base import Protocol, Results, Summary
from mixlab.experiments.results import ResultsTable
from mixlab.experiments.runner import ExperimentResult, load_spec, plan_experiment, run_experiment, summarize
from mixlab.experiments.runs import Plan, PlannedRun, RunSpec
from mixlab.experiments.spec import EvalSpec, ExperimentSpec, Resources

__all__ = [
    "EvalSpec", "ExperimentResult", "ExperimentSpec", "Plan", "PlannedRun", "Protocol", "Resources", "Results",
    "ResultsTable", "RunSpec", "Summary", "get_protocol", "load_spec", "plan_experiment", "protocol_names",
    "register_protocol", "run_experiment", "summarize",
]
