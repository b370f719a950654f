"""Device backends: ``get_backend("torch" | "xla", **options)``.

Importing this package is light; torch (and torch-xla) load with the backend asked for.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from mixlab.backends.base import Backend
from mixlab.errors import ConfigError

#: backend name -> (module, class)
BACKENDS: dict[str, tuple[str, str]] = {
    "torch": ("mixlab.backends.torch_backend", "TorchBackend"),
    "xla": ("mixlab.backends.xla_backend", "XlaBackend"),
}

__all__ = ["BACKENDS", "Backend", "get_backend"]


def get_backend(name: str = "torch", **options: Any) -> Backend:
    """A ``Backend`` by name; ``options`` go to its constructor (precision, parallel, compile_model).

    >>> get_backend("tpu")
    Traceback (most recent call last):
    ...
    mixlab.errors.ConfigError: unknown backend 'tpu'; choose one of ['torch', 'xla']
    """
    if name not in BACKENDS:
        raise ConfigError(f"unknown backend {name!r}; choose one of {sorted(BACKENDS)}")
    module_name, class_name = BACKENDS[name]
    if name == "xla" and importlib.util.find_spec("torch_xla") is None:
        raise ConfigError("backend 'xla' needs torch-xla, which is not installed; install it in its own "
                          "environment with `pip install 'mixlab[xla]'` (torch-xla 2.9.0 needs torch 2.9.0), "
                          "or use --backend torch")
    module = importlib.import_module(module_name)
    return getattr(module, class_name)(**options)
