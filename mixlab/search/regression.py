"""``MixtureRegression``: from proxy runs' mixture weights to their losses, and back to a proposed mixture.

::

    weights (runs x tasks or families, rows sum to 1) + losses (runs x targets)
       -> fit: one model per target (lightgbm | linear | mixing_law)
       -> predict(weights)            numpy array
       -> holdout() / cross_validate()  Spearman of predicted vs true on unseen runs
       -> propose(n_candidates, prior, top_k, constraints)
              Dirichlet candidates around the prior, within caps and epoch limits (RegMix / UniMax)
              -> predicted objective -> mean of the top k -> Proposal (.mixture(registry), .write_spec(path))
       -> partial_dependence() / mixing_laws()  -> mixlab.affinity.InfluenceMatrix

Everything random (LightGBM, the law's restarts, splits, candidates, bootstraps) comes from ``seed``.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> w = rng.dirichlet(np.ones(3), size=30)
>>> loss = 1.0 + np.exp(w @ np.array([-1.0, 0.0, 1.0]))
>>> model = MixtureRegression(kind="mixing_law", seed=0).fit(w, loss)
>>> proposal = model.propose(n_candidates=2000, top_k=20)
>>> max(proposal.weights, key=proposal.weights.get), round(proposal.predicted, 2)
('w0', 1.37)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from mixlab.errors import ConfigError
from mixlab.search.mixing_law import MixingLaw
from mixlab.search.models import Law, Model, check_kind, check_rows, make_model, min_rows
from mixlab.search.proposal import Proposal, top_k_mean
from mixlab.search.sampling import Constraints, Prior, describe, sample_mixtures
from mixlab.search.table import align, as_losses, as_weights
from mixlab.search.validation import HeldOut, cross_validate, holdout


class MixtureRegression:
    """Regress target losses on mixture weights (see the module doc).

    ``kind``: ``"lightgbm"`` (RegMix), ``"linear"`` or ``"mixing_law"`` (Ye et al.); ``params`` go to
    the model (LightGBM keyword arguments; ``restarts`` for the law); ``tolerance``: how far a weight
    row's sum may be from 1; ``higher_is_better``: the targets are metrics to maximise, not losses.
    """

    def __init__(self, kind: str = "lightgbm", *, seed: int = 0, params: Mapping[str, Any] | None = None,
                 tolerance: float = 1e-3, higher_is_better: bool = False) -> None:
        self.kind = check_kind(kind)
        self.seed = int(seed)
        self.params = dict(params or {})
        self.tolerance = tolerance
        self.higher_is_better = higher_is_better
        make_model(self.kind, seed=self.seed, params=self.params)  # reject bad params now, not at fit
        self._models: dict[str, Model] = {}
        self._names: tuple[str, ...] = ()
        self._weights = np.zeros((0, 0))
        self._losses = np.zeros((0, 0))

    def __repr__(self) -> str:
        fitted = f", {len(self._weights)} runs x {len(self._names)} columns -> {list(self._models)}" \
            if self._models else ", not fitted"
        return f"MixtureRegression(kind={self.kind!r}, seed={self.seed}{fitted})"

    # ----------------------------------------------------------------- fit and predict
    def fit(self, weights: Any, losses: Any, *, names: list[str] | None = None,
            targets: list[str] | None = None) -> MixtureRegression:
        """Fit one model per target. ``weights``: DataFrame or array (``names``); ``losses``: Series,
        DataFrame, or array (``targets``). Rows must sum to 1; too few runs for the kind raise."""
        values, columns = as_weights(weights, names, tolerance=self.tolerance)
        losses_array, target_names = as_losses(losses, len(values), targets)
        check_rows(self.kind, len(values), columns)
        self._names, self._weights, self._losses = columns, values, losses_array
        self._models = {t: self._new_model().fit(values, losses_array[:, k]) for k, t in enumerate(target_names)}
        return self

    def _new_model(self) -> Model:
        return make_model(self.kind, seed=self.seed, params=self.params)

    @property
    def names(self) -> tuple[str, ...]:
        """The weight columns (tasks or families), in fitted order."""
        return self._names

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(self._models)

    @property
    def num_runs(self) -> int:
        return len(self._weights)

    def _fitted(self) -> None:
        if not self._models:
            raise ConfigError(f"{self!r}: call fit(weights, losses) first")

    def predict(self, weights: Any) -> np.ndarray:
        """Predictions ``(rows,)`` for one target, ``(rows, targets)`` for several. Columns are matched by
        name for a DataFrame; unknown or missing columns raise."""
        self._fitted()
        out = self._predict(align(weights, self._names, tolerance=self.tolerance))
        return out[:, 0] if out.shape[1] == 1 else out

    def _predict(self, values: np.ndarray) -> np.ndarray:
        return np.column_stack([model.predict(values) for model in self._models.values()])

    def _objective(self, values: np.ndarray, target: str | None) -> tuple[np.ndarray, str]:
        """Predicted objective per row (lower is better inside this class) and its label."""
        predictions = self._predict(values)
        if target is None:
            label = self.targets[0] if len(self.targets) == 1 else "mean of " + ", ".join(self.targets)
            score = predictions.mean(axis=1)
        elif target in self._models:
            label, score = target, predictions[:, self.targets.index(target)]
        else:
            raise ConfigError(f"unknown target {target!r}; this regression predicts {list(self.targets)}")
        return (-score if self.higher_is_better else score), label

    # ----------------------------------------------------------------- proposing a mixture
    def propose(self, n_candidates: int = 10_000, prior: Prior = None, top_k: int = 100,
                constraints: Constraints | Mapping[str, Any] | None = None, *, target: str | None = None,
                seed: int | None = None) -> Proposal:
        """Sample ``n_candidates`` mixtures (:func:`~mixlab.search.sampling.sample_mixtures`), predict the
        objective (``target``, or the mean of all targets), and return the mean of the ``top_k`` best.

        ``prior``: ``None`` (token or example shares from ``constraints.sizes``, else uniform),
        ``"uniform"``, ``"sizes"``, a mapping, or one weight per column. ``seed`` defaults to the model's.
        """
        self._fitted()
        if not 1 <= top_k <= n_candidates:
            raise ConfigError(f"top_k={top_k} must lie in [1, n_candidates={n_candidates}]")
        if isinstance(constraints, Mapping):
            constraints = Constraints(**constraints)
        seed = self.seed if seed is None else int(seed)
        candidates = sample_mixtures(self._names, n_candidates, prior=prior, constraints=constraints, seed=seed)
        scores, label = self._objective(candidates, target)
        chosen, mean = top_k_mean(candidates, scores, top_k)
        predicted, _ = self._objective(mean[None, :], target)
        sign = -1.0 if self.higher_is_better else 1.0
        top = sign * scores[chosen]
        return Proposal(weights=dict(zip(self._names, mean.tolist(), strict=True)), target=label,
                        predicted=float(sign * predicted[0]), top_k_mean=float(top.mean()),
                        spread=float(top.std()), best=float(top[0]),
                        weight_spread=dict(zip(self._names, candidates[chosen].std(axis=0).tolist(), strict=True)),
                        num_candidates=n_candidates, top_k=len(chosen), seed=seed, kind=self.kind,
                        constraints=describe(constraints))

    # ----------------------------------------------------------------- held-out checks
    def _data(self, weights: Any, losses: Any) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
        if weights is None and losses is None:
            self._fitted()
            return self._weights, self._losses, self.targets
        if weights is None or losses is None:
            raise ConfigError("give both weights and losses, or neither (to use the fitted runs)")
        values, columns = as_weights(weights, tolerance=self.tolerance)
        losses_array, targets = as_losses(losses, len(values))
        return align(weights, self._names or columns, tolerance=self.tolerance), losses_array, targets

    def _fit_predict(self, train_w: np.ndarray, train_y: np.ndarray, test_w: np.ndarray) -> np.ndarray:
        models = [self._new_model().fit(train_w, train_y[:, k]) for k in range(train_y.shape[1])]
        return np.column_stack([m.predict(test_w) for m in models])

    def holdout(self, weights: Any = None, losses: Any = None, *, fraction: float = 0.25,
                seed: int | None = None) -> HeldOut:
        """Fit a fresh model on a seeded ``1 - fraction`` of the runs (default: the fitted ones) and report the
        Spearman correlation of predicted and true loss on the rest. The fitted model is not changed."""
        values, losses_array, targets = self._data(weights, losses)
        return holdout(self._fit_predict, values, losses_array, targets, fraction=fraction,
                       seed=self.seed if seed is None else seed, min_train=min_rows(self.kind, values.shape[1]))

    def cross_validate(self, weights: Any = None, losses: Any = None, *, folds: int = 5,
                       seed: int | None = None) -> HeldOut:
        """k-fold cross-validation: Spearman over the out-of-fold predictions of every run, and per fold."""
        values, losses_array, targets = self._data(weights, losses)
        return cross_validate(self._fit_predict, values, losses_array, targets, folds=folds,
                              seed=self.seed if seed is None else seed, min_train=min_rows(self.kind, values.shape[1]))

    # ----------------------------------------------------------------- influence
    def mixing_laws(self) -> dict[str, MixingLaw]:
        """Target -> fitted law (``c``, ``k``, centred ``t`` over :attr:`names`); kind ``mixing_law`` only."""
        self._fitted()
        if self.kind != "mixing_law":
            raise ConfigError(f"mixing_laws() needs kind='mixing_law', this regression is {self.kind!r}; "
                              f"use partial_dependence() for other kinds")
        laws = {}
        for target, model in self._models.items():
            assert isinstance(model, Law) and model.law is not None
            laws[target] = model.law
        return laws

    def partial_dependence(self, *, step: float = 0.1, at: Any = None) -> np.ndarray:
        """``G[j, i]``: relative improvement of target i when every mixture in ``at`` (default: the fitted
        runs) moves ``step`` of its weight onto column j, per unit step, averaged over the mixtures:
        ``mean((f(w) - f((1 - step) w + step e_j)) / f(w)) / step`` (sign flipped for
        ``higher_is_better``). Positive: more of j helps target i."""
        self._fitted()
        if not 0 < step <= 1:
            raise ConfigError(f"step={step} must lie in (0, 1]")
        base = self._weights if at is None else align(at, self._names, tolerance=self.tolerance)
        before = self._predict(base)
        out = np.empty((len(self._names), len(self._models)))
        for j in range(len(self._names)):
            moved = (1.0 - step) * base
            moved[:, j] += step
            change = (before - self._predict(moved)) / np.abs(before)
            out[j] = (-change if self.higher_is_better else change).mean(axis=0) / step
        return out

    def bootstrap(self, statistic: Callable[[MixtureRegression], np.ndarray], *, num: int = 100,
                  seed: int | None = None, progress: bool = False) -> np.ndarray:
        """``statistic`` of ``num`` refits on runs resampled with replacement, stacked ``(num, ...)``.
        Resamples are seeded; each refit uses this model's kind, params and seed."""
        self._fitted()
        rng = np.random.default_rng(self.seed if seed is None else seed)
        results = []
        for _ in tqdm(range(num), desc="bootstrap refits", disable=not progress):
            rows = rng.integers(0, self.num_runs, self.num_runs)
            clone = MixtureRegression(self.kind, seed=self.seed, params=self.params, tolerance=self.tolerance,
                                      higher_is_better=self.higher_is_better)
            clone.fit(self._weights[rows], self._losses[rows], names=list(self._names), targets=list(self.targets))
            results.append(np.asarray(statistic(clone), float))
        return np.stack(results)

    def influence(self, *, num_bootstrap: int = 0, level: float = 0.9, seed: int | None = None,
                  target_names: Mapping[str, str] | None = None, step: float = 0.1) -> Any:
        """An :class:`~mixlab.affinity.InfluenceMatrix`: the law's ``-t`` for ``mixing_law``, partial dependences
        otherwise; ``num_bootstrap`` refits give intervals at ``level``."""
        from mixlab.affinity.influence import InfluenceMatrix

        if self.kind == "mixing_law":
            return InfluenceMatrix.from_mixing_law(self, num_bootstrap=num_bootstrap, level=level, seed=seed,
                                                   target_names=target_names)
        return InfluenceMatrix.from_regression(self, num_bootstrap=num_bootstrap, level=level, seed=seed,
                                               target_names=target_names, step=step)
