"""Reading config and spec files: YAML and JSON that refuse a key written twice in one mapping.

PyYAML and ``json`` keep the last value of a repeated key without a word, so a config with
``steps: 10`` and, further down, ``steps: 1000`` silently trains for 1000 steps. These loaders
raise ``ValueError`` naming the key and where it appears (TOML already refuses duplicates).

>>> load_yaml("steps: 10\\nR: 2\\n")
{'steps': 10, 'R': 2}
>>> load_yaml("steps: 10\\nmodel: tiny\\nsteps: 1000\\n")
Traceback (most recent call last):
...
ValueError: duplicate key 'steps' at line 3 (first at line 1); keep one of them
>>> load_json('{"name": "m", "name": "n"}')
Traceback (most recent call last):
...
ValueError: duplicate key 'name' in one JSON object; keep one of them
"""

from __future__ import annotations

import json
from typing import Any

import yaml


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` whose mappings refuse a repeated key (``<<`` merge keys still work)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: PyYAML's own check reports it below
                continue
            if first is not None:
                raise ValueError(f"duplicate key {key!r} at line {line} (first at line {first}); keep one of them")
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _UniqueKeyLoader.construct_mapping)


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` that raises ``ValueError`` on a key repeated in one mapping."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass: no arbitrary objects


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r} in one JSON object; keep one of them")
        out[key] = value
    return out


def load_json(text: str) -> Any:
    """``json.loads`` that raises ``ValueError`` on a key repeated in one object."""
    return json.loads(text, object_pairs_hook=_unique_object)


__all__ = ["load_json", "load_yaml"]
