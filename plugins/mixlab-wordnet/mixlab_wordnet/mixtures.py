"""Named mixtures over the WordNet tasks (entry point group ``mixlab.mixtures``)."""

from __future__ import annotations

from typing import Any

from mixlab.samplers import mixture_plugin


@mixture_plugin(api=1)
def wordnet() -> dict[str, Any]:
    """The supervised WordNet tasks (tag ``supervised``), examples-proportional without a cap."""
    return {"name": "wordnet", "tasks": {"collection": "wordnet", "tag": "supervised"},
            "strategy": {"kind": "proportional"}}


@mixture_plugin(api=1)
def wordnet_ext5() -> dict[str, Any]:
    """ExT5-style R-mixing: the WordNet corpus (span corruption) with ``wordnet``, R = 2."""
    return {"name": "wordnet-ext5",
            "rmix": {"self_supervised": "wordnet/text", "supervised": "wordnet", "R": 2, "unit": "examples"}}
