"""The experiment protocols: name -> class with ``expand(spec, registry) -> runs`` and ``summarize(...)``.

Built in (ExT5, Aribandi et al. 2022):

- ``cotrain`` (§2.1, Table 2): each group alone and each pair -> ``cotraining.csv`` (``mixlab affinity``
  reads it), Table 2's layout, the transfer heatmap, a proposed mixture;
- ``r_sweep`` (§2.4, Figure 3): pre-train at each R and without supervised data -> the curve and its line;
- ``task_scaling`` (§2.5, Figure 4): nested random task subsets x seeds -> mean ± std curve;
- ``pretrain_vs_prefinetune`` (§2.3, Table 4): vanilla, pre-finetuned, multi-task pre-trained -> the table;
- ``sample_efficiency`` (§2.6, Figure 5): fine-tune from several pre-training steps -> score vs step.

And mixture search (:mod:`mixlab.search.protocol`): ``regmix`` (RegMix, Liu et al. 2024): proxy runs on
Dirichlet-sampled mixtures and baselines -> a regression's held-out Spearman, ``proposed_mixture.yaml``.

A new protocol subclasses :class:`~mixlab.experiments.protocols.base.Protocol` and is registered with
:func:`register_protocol` (in code) or an entry point in the group ``mixlab.protocols`` (a package).
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mixlab.experiments.protocols.base import Protocol

ENTRY_POINT_GROUP = "mixlab.protocols"
#: built-in protocols, imported when first asked for
BUILTIN: dict[str, str] = {
    "cotrain": "mixlab.experiments.protocols.cotrain:Cotrain",
    "r_sweep": "mixlab.experiments.protocols.r_sweep:RSweep",
    "task_scaling": "mixlab.experiments.protocols.task_scaling:TaskScaling",
    "pretrain_vs_prefinetune": "mixlab.experiments.protocols.prefinetune:PretrainVsPrefinetune",
    "sample_efficiency": "mixlab.experiments.protocols.sample_efficiency:SampleEfficiency",
    "regmix": "mixlab.search.protocol:RegMix",
}
_REGISTERED: dict[str, type[Protocol]] = {}


def register_protocol(cls: type[Protocol]) -> type[Protocol]:
    """Class decorator: make ``cls`` available as ``protocol: <cls.name>`` in experiment specs."""
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"{cls.__name__} needs a class attribute name = '<protocol name>'")
    known = _REGISTERED.get(name)
    if known is not None and known is not cls:
        raise ValueError(f"protocol {name!r} is already registered by {known.__module__}.{known.__qualname__}")
    _REGISTERED[name] = cls
    return cls


def _plugin_refs() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def protocol_names() -> list[str]:
    """Every protocol name: built in, registered in code, and from entry points (nothing is imported)."""
    return sorted(set(BUILTIN) | set(_REGISTERED) | set(_plugin_refs()))


def get_protocol(name: str) -> type[Protocol]:
    """The protocol class registered as ``name`` (``LookupError`` listing the known names)."""
    if name in _REGISTERED:
        return _REGISTERED[name]
    ref = BUILTIN.get(name) or _plugin_refs().get(name)
    if ref is None:
        raise LookupError(f"unknown protocol {name!r}; choose one of {protocol_names()}")
    module, _, attr = ref.partition(":")
    cls = getattr(importlib.import_module(module), attr)  # an ImportError here is a broken install: raise it
    return register_protocol(cls)


__all__ = ["BUILTIN", "ENTRY_POINT_GROUP", "get_protocol", "protocol_names", "register_protocol"]
