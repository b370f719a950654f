"""ExMix for mixlab: the 107 supervised tasks of ExT5 (Aribandi et al., 2022) and their mixtures.

catalog.csv (names, families, sizes, sources) --tasks()--> 107 mixlab.Task (collection "exmix")
formatters.FORMATTERS[name]: raw row of the real source schema -> {"inputs", "targets"}
mixtures: exmix (proportional, cap 300k), exmix-family-uniform, ext5 (R-mix with c4/span_corruption, R=2)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mixlab
from mixlab_exmix.catalog import (
    DATA_ENV,
    FAMILY_CODES,
    NAMESPACE,
    Collection,
    Entry,
    collections,
    data_dir,
    entries,
    resolve_files,
)
from mixlab_exmix.formatters import FORMATTERS

__all__ = [
    "DATA_ENV", "FAMILY_CODES", "FORMATTERS", "Collection", "Entry", "build_task", "collections", "data_dir",
    "entries", "exmix", "exmix_family_uniform", "ext5", "tasks",
]
__version__ = "1.0.0"

CAP = 300_000


def build_task(entry: Entry, root: Path | None = None) -> mixlab.Task:
    """The ``mixlab.Task`` for one catalog row; user-provided files resolve under ``root``."""
    splits = {"train": entry.train_split}
    if entry.eval_split:
        splits["validation"] = entry.eval_split
    source = mixlab.HFSource(path=entry.path, config=entry.config, splits=splits, revision=entry.revision,
                             data_dir=entry.data_dir, data_files=resolve_files(entry, root))
    tags = {NAMESPACE, f"t11:{entry.t11}", f"source:{entry.provided}"}
    if entry.code:
        tags.add(entry.code)
    return mixlab.Task(
        name=f"{NAMESPACE}/{entry.name}",
        family=entry.family,
        collection=NAMESPACE,
        num_examples={"train": entry.train},
        source=source,
        formatter=FORMATTERS[entry.name],
        metrics=entry.metrics,
        tags=frozenset(tags),
        citation=entry.citation,
        license=entry.license,
        description=f"{entry.member} (ExT5 Table 11 collection {entry.t11!r})",
        version=__version__,
    )


@mixlab.task_plugin(api=1)
def tasks() -> list[mixlab.Task]:
    """The 107 ExMix tasks, collection ``exmix``."""
    root = data_dir()
    return [build_task(entry, root) for entry in entries()]


@mixlab.mixture_plugin(api=1)
def exmix() -> dict[str, Any]:
    """All of ExMix, examples-proportional with the ExT5 cap of 300k examples per task."""
    return {"name": "exmix", "tasks": {"collection": NAMESPACE}, "strategy": {"kind": "proportional", "cap": CAP}}


@mixlab.mixture_plugin(api=1)
def exmix_family_uniform() -> dict[str, Any]:
    """ExMix with every family weighted equally, proportional (capped) inside a family (Table 2's scheme)."""
    return {"name": "exmix-family-uniform", "tasks": {"collection": NAMESPACE},
            "strategy": {"kind": "family_uniform", "cap": CAP}}


@mixlab.mixture_plugin(api=1)
def ext5() -> dict[str, Any]:
    """ExT5 pre-training: C4 span corruption R-mixed with ExMix, R=2 (P(self-supervised) = 2/3)."""
    return {"name": "ext5",
            "rmix": {"self_supervised": "c4/span_corruption", "supervised": "exmix", "R": 2, "unit": "examples"}}
