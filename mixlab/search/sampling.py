"""Candidate mixtures: RegMix's Dirichlet scheme around a prior, within per-task caps and epoch limits.

Order of operations for each candidate (vectorised over candidates):

1. strength ``s`` drawn uniformly from ``num_strengths`` values spaced log-evenly in
   ``strengths`` (RegMix: 0.1 to 5; small ``s`` gives nearly one-task mixtures, large ``s``
   mixtures close to the prior);
2. ``w ~ Dirichlet(s · prior)``;
3. weights below ``min_weight`` become 0 and the row is renormalised (RegMix's minimum share);
4. upper bounds: ``u_j = min(caps[j], max_epochs · sizes[j] / budget, 1)``; weight above a bound is
   cut to it and the excess shared by the other columns in proportion to their weight (UniMax's
   "leftover redistributed"), repeated until no bound is exceeded. RegMix rejects such
   candidates instead; redistributing keeps every draw and the same support.

The prior defaults to the share of ``sizes`` (RegMix's token-share prior) when sizes are given,
else uniform. Everything is drawn from ``numpy.random.default_rng(seed)``.

>>> w = sample_mixtures(["a", "b", "c"], 4, seed=0, constraints=Constraints(caps={"a": 0.2}))
>>> w.shape, bool((w[:, 0] <= 0.2 + 1e-12).all()), bool(np.allclose(w.sum(axis=1), 1))
((4, 3), True, True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydantic import Field, model_validator

from mixlab._spec import Spec
from mixlab.errors import ConfigError

Prior = Mapping[str, float] | Sequence[float] | np.ndarray | str | None


class Constraints(Spec):
    """Limits on a proposed mixture. ``sizes`` and ``budget`` share a unit (tokens or examples)."""

    spec_kind = "search constraints"
    spec_error = ConfigError

    caps: dict[str, float] = Field(default_factory=dict, description="name -> largest probability (0, 1]")
    max_epochs: float | None = Field(default=None, gt=0, description="most passes over any task's data")
    budget: float | None = Field(default=None, gt=0, description="tokens (or examples) the run trains on")
    sizes: dict[str, float] = Field(default_factory=dict, description="name -> tokens (or examples) available")
    min_weight: float = Field(default=0.0, ge=0, lt=1, description="smaller weights become 0 (RegMix)")

    @model_validator(mode="after")
    def _consistent(self) -> Constraints:
        bad = {k: v for k, v in self.caps.items() if not 0 < v <= 1}
        if bad:
            raise ValueError(f"caps {bad} must lie in (0, 1]; a cap is a largest probability")
        negative = {k: v for k, v in self.sizes.items() if not v > 0}
        if negative:
            raise ValueError(f"sizes {negative} must be positive")
        if self.max_epochs is not None and (self.budget is None or not self.sizes):
            raise ValueError("max_epochs needs budget and sizes (tokens or examples per task) to turn epochs "
                             "into a largest probability")
        return self

    def upper_bounds(self, names: Sequence[str]) -> np.ndarray:
        """``u_j`` per name (1 where unconstrained); unknown or missing names raise."""
        for field, values in (("caps", self.caps), ("sizes", self.sizes)):
            unknown = sorted(set(values) - set(names))
            if unknown:
                raise ConfigError(f"constraints.{field} names {unknown}, which are not weight columns; "
                                  f"choose from {list(names)}")
        bounds = np.array([self.caps.get(n, 1.0) for n in names])
        if self.max_epochs is not None:
            missing = [n for n in names if n not in self.sizes]
            if missing:
                raise ConfigError(f"max_epochs needs a size for every column; constraints.sizes lacks {missing}")
            assert self.budget is not None
            epochs = np.array([self.max_epochs * self.sizes[n] / self.budget for n in names])
            bounds = np.minimum(bounds, epochs)
        if bounds.sum() < 1.0 - 1e-9:
            raise ConfigError(f"the upper bounds {dict(zip(names, bounds.round(6).tolist(), strict=True))} sum to "
                              f"{bounds.sum():.4g} < 1, so no mixture fits; raise caps or max_epochs, or the budget "
                              f"is larger than the data allows")
        return bounds


def prior_vector(names: Sequence[str], prior: Prior, constraints: Constraints | None = None) -> np.ndarray:
    """The prior as probabilities over ``names``: ``None`` (size shares if ``constraints.sizes``, else
    uniform), ``"uniform"``, ``"sizes"``, a mapping name -> weight, or one weight per name."""
    sizes = constraints.sizes if constraints is not None else {}
    if prior is None:
        prior = "sizes" if sizes else "uniform"
    if isinstance(prior, str):
        if prior == "uniform":
            values = np.ones(len(names))
        elif prior == "sizes":
            missing = [n for n in names if n not in sizes]
            if missing:
                raise ConfigError(f"prior='sizes' needs constraints.sizes for every column; missing {missing}")
            values = np.array([sizes[n] for n in names], float)
        else:
            raise ConfigError(f"unknown prior {prior!r}; choose 'uniform', 'sizes', a mapping or one weight per column")
    elif isinstance(prior, Mapping):
        unknown = sorted(set(prior) - set(names))
        if unknown:
            raise ConfigError(f"prior names {unknown}, which are not weight columns; choose from {list(names)}")
        values = np.array([float(prior.get(n, 0.0)) for n in names])
    else:
        values = np.asarray(prior, float)
        if values.shape != (len(names),):
            raise ConfigError(f"prior has shape {values.shape}; give one weight per column {list(names)}")
    if not np.isfinite(values).all() or (values < 0).any() or values.sum() <= 0:
        raise ConfigError(f"prior {values.tolist()} must be finite, >= 0 and not all 0")
    return values / values.sum()


def cap_rows(weights: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Cut each row to ``bounds`` and share the excess over uncut columns by weight (by headroom if they are 0)."""
    out = weights.copy()
    for _ in range(len(bounds) + 1):
        over = out > bounds + 1e-12
        if not over.any():
            break
        at_cap = over | (out >= bounds - 1e-12)
        out = np.where(over, bounds, out)
        excess = 1.0 - out.sum(axis=1, keepdims=True)
        free = np.where(at_cap, 0.0, out)
        share = free.sum(axis=1, keepdims=True)
        headroom = np.where(at_cap, 0.0, bounds - out)
        by_weight = np.divide(free, share, out=np.zeros_like(free), where=share > 0)
        by_room = headroom / np.maximum(headroom.sum(axis=1, keepdims=True), 1e-300)
        out = out + excess * np.where(share > 0, by_weight, by_room)
    return out / out.sum(axis=1, keepdims=True)


def sample_mixtures(names: Sequence[str], num: int, *, prior: Prior = None, constraints: Constraints | None = None,
                    seed: int = 0, strengths: tuple[float, float] = (0.1, 5.0), num_strengths: int = 15) -> np.ndarray:
    """``num`` candidate mixtures ``(num, len(names))`` (steps in the module doc)."""
    if num < 1:
        raise ConfigError(f"asked for {num} candidates; give at least 1")
    low, high = strengths
    if not 0 < low <= high:
        raise ConfigError(f"strengths={strengths} must satisfy 0 < low <= high")
    constraints = constraints or Constraints()
    base = prior_vector(names, prior, constraints)
    bounds = constraints.upper_bounds(names)
    rng = np.random.default_rng(seed)
    grid = np.logspace(np.log10(low), np.log10(high), num_strengths)
    alpha = grid[rng.integers(0, num_strengths, num)][:, None] * base[None, :]
    draws = rng.gamma(np.where(alpha > 0, alpha, 1.0)) * (alpha > 0)
    totals = draws.sum(axis=1, keepdims=True)
    weights = np.where(totals > 0, draws / np.where(totals > 0, totals, 1.0), base[None, :])  # underflow: the prior
    if constraints.min_weight > 0:
        kept = np.where(weights >= constraints.min_weight, weights, 0.0)
        kept_total = kept.sum(axis=1, keepdims=True)
        weights = np.where(kept_total > 0, kept / np.where(kept_total > 0, kept_total, 1.0), weights)
    return cap_rows(weights, bounds)


def describe(constraints: Constraints | None) -> dict[str, Any]:
    """The constraints as plain data (what a proposal records)."""
    return {} if constraints is None else constraints.model_dump(exclude_defaults=True)
