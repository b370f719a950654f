"""One regressor per target, from mixture weights ``(runs, sources)`` to a loss ``(runs,)``.

- ``linear``: ``L = Σ_j β_j r_j`` by least squares. On the simplex this is the same model as an
  intercept plus weights (the intercept is absorbed by the ``β``), with no redundant column.
- ``lightgbm``: gradient-boosted trees (RegMix's regressor), seeded, one thread, deterministic.
  ``min_data_in_leaf`` shrinks with the number of runs (LightGBM's default of 20 would keep
  a 64-run sweep's trees at one or two leaves).
- ``mixing_law``: :func:`~mixlab.search.mixing_law.fit_mixing_law`.

Each kind states the fewest runs it fits from (:func:`min_rows`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np

from mixlab.errors import ConfigError, DataError
from mixlab.search.mixing_law import MixingLaw, fit_mixing_law
from mixlab.search.table import import_extra

KINDS = ("lightgbm", "linear", "mixing_law")

#: LightGBM (native API) settings mixlab uses unless ``params`` overrides them; ``num_boost_round`` is the
#: number of trees (RegMix: 1000 trees at rate 0.01; half as many at twice the rate fit small sweeps as well).
LIGHTGBM_DEFAULTS: dict[str, Any] = {
    "objective": "regression", "num_boost_round": 500, "learning_rate": 0.02, "num_leaves": 15,
    "deterministic": True, "force_row_wise": True, "num_threads": 1, "verbosity": -1,
}


class Model(Protocol):
    def fit(self, weights: np.ndarray, loss: np.ndarray) -> Model: ...

    def predict(self, weights: np.ndarray) -> np.ndarray: ...


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ConfigError(f"unknown regression kind {kind!r}; choose one of {list(KINDS)}")
    return kind


def min_rows(kind: str, num_sources: int) -> int:
    """Fewest runs a ``kind`` model over ``num_sources`` weight columns is fitted from."""
    return {"linear": num_sources + 1, "mixing_law": num_sources + 2, "lightgbm": max(10, num_sources + 2)}[kind]


class Linear:
    def __init__(self, **params: Any) -> None:
        if params:
            raise ConfigError(f"the linear regression takes no params, got {sorted(params)}")
        self.coef = np.zeros(0)

    def fit(self, weights: np.ndarray, loss: np.ndarray) -> Linear:
        self.coef, *_ = np.linalg.lstsq(weights, loss, rcond=None)
        return self

    def predict(self, weights: np.ndarray) -> np.ndarray:
        return weights @ self.coef


class LightGBM:
    def __init__(self, *, seed: int, **params: Any) -> None:
        self.params = {**LIGHTGBM_DEFAULTS, **params, "seed": seed}
        self.model: Any = None

    def fit(self, weights: np.ndarray, loss: np.ndarray) -> LightGBM:
        lightgbm = import_extra("lightgbm", "MixtureRegression(kind='lightgbm')")
        params = dict(self.params)
        rounds = int(params.pop("num_boost_round"))
        params.setdefault("min_data_in_leaf", int(min(20, max(2, len(loss) // 10))))
        data = lightgbm.Dataset(weights, label=loss, params={"verbosity": -1})
        self.model = lightgbm.train(params, data, num_boost_round=rounds)
        return self

    def predict(self, weights: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.predict(weights), dtype=float)


class Law:
    def __init__(self, *, seed: int, restarts: int = 4) -> None:
        self.seed, self.restarts = seed, restarts
        self.law: MixingLaw | None = None

    def fit(self, weights: np.ndarray, loss: np.ndarray) -> Law:
        self.law = fit_mixing_law(weights, loss, seed=self.seed, restarts=self.restarts)
        return self

    def predict(self, weights: np.ndarray) -> np.ndarray:
        assert self.law is not None, "fit before predict"
        return self.law(weights)


def make_model(kind: str, *, seed: int, params: Mapping[str, Any] | None = None) -> Model:
    params = dict(params or {})
    if kind == "linear":
        return Linear(**params)
    if kind == "lightgbm":
        return LightGBM(seed=seed, **params)
    unknown = sorted(set(params) - {"restarts"})
    if unknown:
        raise ConfigError(f"the mixing_law regression takes only params 'restarts', got {unknown}")
    return Law(seed=seed, **params)


def check_rows(kind: str, num_rows: int, names: tuple[str, ...]) -> None:
    need = min_rows(kind, len(names))
    if num_rows < need:
        raise DataError(f"a {kind} regression over {len(names)} weight columns needs at least {need} runs, got "
                        f"{num_rows}; add runs, or merge columns (e.g. tasks into families)")
