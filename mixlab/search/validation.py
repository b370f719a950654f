"""Held-out checks of a mixture regression: Spearman correlation between predicted and true loss on runs
the model did not see (a single held-out split, or k-fold cross-validation over all runs).

RegMix judges its regressors the same way: what matters for choosing a mixture is that the model
ranks mixtures correctly, not its absolute error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mixlab.affinity.compare import spearman
from mixlab.errors import ConfigError

#: fit on (weights, losses) rows, return predictions (rows, targets) for other weights
FitPredict = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True, kw_only=True)
class HeldOut:
    """Held-out predictions. ``spearman``: target -> rank correlation over all held-out runs;
    ``fold_spearman``: target -> per-fold values (one entry for a single split)."""

    method: str
    targets: tuple[str, ...]
    rows: np.ndarray
    true: np.ndarray
    predicted: np.ndarray
    spearman: dict[str, float]
    fold_spearman: dict[str, list[float]]

    def __str__(self) -> str:
        parts = []
        for target in self.targets:
            folds = self.fold_spearman[target]
            extra = f" (folds {', '.join(f'{v:.3f}' for v in folds)})" if len(folds) > 1 else ""
            parts.append(f"{target}: Spearman {self.spearman[target]:.3f}{extra}")
        return f"held-out ({self.method}, {len(self.rows)} runs): " + "; ".join(parts)

    def summary(self, digits: int = 4) -> dict[str, object]:
        return {"method": self.method, "num_runs": len(self.rows),
                "spearman": {t: round(v, digits) for t, v in self.spearman.items()},
                "fold_spearman": {t: [round(v, digits) for v in vs] for t, vs in self.fold_spearman.items()}}


def _correlations(true: np.ndarray, predicted: np.ndarray, targets: tuple[str, ...]) -> dict[str, float]:
    return {t: spearman(true[:, k], predicted[:, k]) for k, t in enumerate(targets)}


def fold_train_size(num: int, folds: int) -> int:
    """Runs the smallest training split of ``folds``-fold cross-validation over ``num`` runs fits on
    (``num`` less the largest fold).

    >>> fold_train_size(10, 3)
    6
    """
    return num - -(-num // folds)


def holdout(fit_predict: FitPredict, weights: np.ndarray, losses: np.ndarray, targets: tuple[str, ...], *,
            fraction: float, seed: int, min_train: int) -> HeldOut:
    """Fit on a seeded random ``1 - fraction`` of the runs, predict the rest."""
    num = len(weights)
    if not 0 < fraction < 1:
        raise ConfigError(f"fraction={fraction} must lie in (0, 1)")
    num_test = max(2, round(fraction * num))
    if num - num_test < min_train:
        raise ConfigError(f"holding out {num_test} of {num} runs leaves {num - num_test}, fewer than the {min_train} "
                          f"the model needs; lower fraction or add runs")
    order = np.random.default_rng(seed).permutation(num)
    test, train = np.sort(order[:num_test]), np.sort(order[num_test:])
    predicted = fit_predict(weights[train], losses[train], weights[test])
    correlations = _correlations(losses[test], predicted, targets)
    return HeldOut(method=f"holdout {fraction:g}, seed {seed}", targets=targets, rows=test, true=losses[test],
                   predicted=predicted, spearman=correlations, fold_spearman={t: [v] for t, v in correlations.items()})


def cross_validate(fit_predict: FitPredict, weights: np.ndarray, losses: np.ndarray, targets: tuple[str, ...], *,
                   folds: int, seed: int, min_train: int) -> HeldOut:
    """k-fold cross-validation over seeded folds: every run is predicted once by a model that never saw it."""
    num = len(weights)
    if not 2 <= folds <= num // 2:
        raise ConfigError(f"folds={folds} must lie in [2, {num // 2}] for {num} runs (at least 2 runs per fold)")
    trained = fold_train_size(num, folds)
    if trained < min_train:
        raise ConfigError(f"{folds}-fold cross-validation trains on about {trained} of {num} runs, "
                          f"fewer than the {min_train} the model needs; use fewer folds or add runs")
    order = np.random.default_rng(seed).permutation(num)
    predicted = np.empty_like(losses)
    per_fold: dict[str, list[float]] = {t: [] for t in targets}
    for part in np.array_split(order, folds):
        test = np.sort(part)
        train = np.setdiff1d(order, test)
        predicted[test] = fit_predict(weights[train], losses[train], weights[test])
        for t, v in _correlations(losses[test], predicted[test], targets).items():
            per_fold[t].append(v)
    rows = np.arange(num)
    return HeldOut(method=f"{folds}-fold cross-validation, seed {seed}", targets=targets, rows=rows, true=losses,
                   predicted=predicted, spearman=_correlations(losses, predicted, targets), fold_spearman=per_fold)
