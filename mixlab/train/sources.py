"""Deprecated: renamed :mod:`mixlab.train.data_factory` (``mixlab.registry.sources`` holds task sources)."""

from __future__ import annotations

import warnings
from typing import Any


def __getattr__(name: str) -> Any:
    from mixlab.train import data_factory

    value = getattr(data_factory, name)  # AttributeError for names that never existed
    warnings.warn(f"mixlab.train.sources is renamed mixlab.train.data_factory; import {name} from there",
                  DeprecationWarning, stacklevel=2)
    return value
