"""From a protocol's run specs to runnable, hashable configs: tokenizers, mixtures, task versions.

``Resolver(base, registry).fingerprint(run)`` validates a training run's config as a
:class:`~mixlab.PretrainConfig` (errors name the run), resolves its tokenizer (a path relative to the
spec's folder, or ``module:function`` returning one) and its mixture (through
:func:`mixlab.resolve_mixture`), and returns what the run's hash covers.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mixlab.errors import ConfigError, MixlabError
from mixlab.experiments.runs import UNHASHED_FIELDS, RunSpec, make_plan

_CALLABLE_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
#: rounding of mixture probabilities in the hash (float noise must not change a run's identity)
PROBABILITY_DIGITS = 12


class Resolver:
    """Resolves the runs of one experiment (caches tokenizer digests and mixtures across runs)."""

    def __init__(self, base: str | Path, registry: Any = None, *, check_files: bool = True) -> None:
        if registry is None:
            from mixlab.registry import load_registry

            registry = load_registry()
        self.base, self.registry, self.check_files = Path(base), registry, check_files
        self._digests: dict[str, str] = {}
        self._mixtures: dict[str, tuple[str, dict[str, list[Any]]]] = {}

    # -- pieces --------------------------------------------------------------------------------------
    def tokenizer(self, ref: str | None) -> str | None:
        """A tokenizer path: ``ref`` as a file or folder (relative to the spec's folder), or ``module:function``."""
        if ref is None:
            return None
        path = Path(ref) if Path(ref).is_absolute() else self.base / ref
        if path.exists():
            return str(path.resolve())
        if _CALLABLE_REF.match(ref):
            module, _, attr = ref.partition(":")
            try:
                target: Any = importlib.import_module(module)
            except ImportError as exc:
                raise ConfigError(f"tokenizer {ref!r}: cannot import {module!r} ({exc}); fix: install it, or give "
                                  f"the tokenizer's path") from exc
            for part in attr.split("."):
                target = getattr(target, part)
            return str(target() if callable(target) else target)
        if self.check_files:
            raise ConfigError(f"tokenizer {ref!r} is neither a file or folder (looked in {self.base}) nor a "
                              f"module:function reference; fix: give a SentencePiece model path or e.g. "
                              f"mixlab_wordnet:tokenizer_path")
        return ref

    def tokenizer_digest(self, path: str | None) -> str | None:
        """``sha256:<hex>`` of a tokenizer file (a folder: of its files), or the path when it does not exist."""
        if path is None:
            return None
        if path not in self._digests:
            from mixlab.run_folder import sha256_of

            target = Path(path)
            if target.is_file():
                self._digests[path] = "sha256:" + sha256_of(target)
            elif target.is_dir():
                files = sorted(p for p in target.rglob("*") if p.is_file())
                digests = {str(p.relative_to(target)): sha256_of(p) for p in files}
                self._digests[path] = "sha256:" + _digest(digests)
            else:
                self._digests[path] = path
        return self._digests[path]

    def mixture(self, ref: Any, R: float | None) -> tuple[str, dict[str, list[Any]]]:
        """The mixture's name and ``{task: [probability, version]}`` (what a hash needs of it)."""
        cache_key = json.dumps([ref, R], sort_keys=True, default=str)
        if cache_key not in self._mixtures:
            from mixlab.samplers import resolve_mixture

            mix = resolve_mixture(ref, registry=self.registry, R=R, base=self.base)
            leaves = {name: [round(p, PROBABILITY_DIGITS), mix.tasks[name].version]
                      for name, p in sorted(mix.probabilities.items())}
            self._mixtures[cache_key] = (mix.name, leaves)
        return self._mixtures[cache_key]

    def absolute_paths(self, mixture: Any) -> Any:
        """``mixture`` with every spec-file path in it (top level, components, rmix sides) made absolute, so the
        run reads the same files from any working directory."""
        if isinstance(mixture, str):
            path = Path(mixture) if Path(mixture).is_absolute() else self.base / mixture
            return str(path.resolve()) if path.is_file() else mixture
        if isinstance(mixture, Mapping):
            out = dict(mixture)
            for key in ("mixture", "self_supervised", "supervised"):
                if key in out:
                    out[key] = self.absolute_paths(out[key])
            if isinstance(out.get("rmix"), Mapping):
                out["rmix"] = self.absolute_paths(out["rmix"])
            if isinstance(out.get("components"), list):
                out["components"] = [self.absolute_paths(c) for c in out["components"]]
            return out
        return mixture

    def task_versions(self, names: list[str]) -> dict[str, str]:
        return {name: self.registry.get(name).version for name in sorted(names)}

    # -- runs ----------------------------------------------------------------------------------------
    def training_config(self, run: RunSpec) -> dict[str, Any]:
        """``run.config`` validated as a PretrainConfig, tokenizer and file mixture paths made absolute."""
        from mixlab.train.config import PretrainConfig

        assert run.config is not None
        data = dict(run.config)
        data["tokenizer"] = self.tokenizer(data.get("tokenizer"))
        data["mixture"] = self.absolute_paths(data.get("mixture"))
        data.setdefault("name", run.key.replace("/", "-"))
        try:
            return PretrainConfig(**data).to_dict()
        except ConfigError as exc:
            raise ConfigError(f"run {run.key!r}: {exc}") from None

    def fingerprint(self, run: RunSpec) -> dict[str, Any]:
        """What ``run``'s hash covers besides kind, eval settings and parent; also its runnable config."""
        if run.kind == "eval":
            assert run.eval is not None
            return {"hashed": {"task_versions": self.task_versions(list(run.eval["tasks"]))}}
        config = self.training_config(run)
        try:
            name, leaves = self.mixture(config["mixture"], config.get("R"))
        except MixlabError as exc:
            raise type(exc)(f"run {run.key!r}: mixture {config['mixture']!r}: {exc}") from None
        hashed = {k: v for k, v in config.items() if k not in UNHASHED_FIELDS and k != "mixture"}
        hashed["tokenizer"] = self.tokenizer_digest(config.get("tokenizer"))
        return {"hashed": {"config": hashed, "mixture": leaves}, "mixture": name, "config": config}

    def plan(self, runs: list[RunSpec]) -> Any:
        return make_plan(runs, self.fingerprint)


def _digest(data: Mapping[str, Any]) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


__all__ = ["PROBABILITY_DIGITS", "Resolver"]
