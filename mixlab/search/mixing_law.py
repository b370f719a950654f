"""Data Mixing Laws (Ye et al. 2024): ``L_i(r) = c_i + k_i · exp(Σ_j t_ij · r_j)``, fitted per target.

On the simplex (``Σ_j r_j = 1``) the law has one redundant parameter: adding ``a`` to every ``t_ij``
multiplies the exponential by ``e^a``, which ``k_i`` absorbs. mixlab therefore fits the equivalent
``L = c + exp(Σ_j u_j r_j)`` (``k > 0``: loss falls as a helpful source is added) and reports
``t_j = u_j - mean(u)`` (centred, so ``Σ_j t_j = 0``) and ``k = exp(mean(u))``. A negative ``t_j``
means "more of j lowers this loss" relative to the average source; only these centred values are
identifiable, and only they are compared across fits.

The fit is Levenberg-Marquardt on the squared error (numpy only), started from log-linear fits
``log(L - c) ≈ Σ_j u_j r_j`` at a few offsets ``c`` below the smallest loss, plus seeded random
restarts around the best start; the lowest error wins.

>>> import numpy as np
>>> r = np.random.default_rng(0).dirichlet(np.ones(3), size=40)
>>> loss = 2.0 + 0.5 * np.exp(r @ np.array([-1.0, 0.2, 0.8]))
>>> law = fit_mixing_law(r, loss, seed=0)
>>> round(law.c, 3), np.round(law.t, 3).tolist()
(2.0, [-1.0, 0.2, 0.8])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mixlab.errors import DataError

#: offsets below min(L), as fractions of the loss range, that seed the log-linear starts
START_OFFSETS = (0.02, 0.1, 0.5, 2.0)


@dataclass(frozen=True, kw_only=True)
class MixingLaw:
    """One target's fitted law: ``L(r) = c + k · exp(t · r)`` with ``Σ t = 0``; ``rmse`` on the fitted rows."""

    c: float
    k: float
    t: np.ndarray
    rmse: float

    def __call__(self, weights: np.ndarray) -> np.ndarray:
        return self.c + self.k * np.exp(np.asarray(weights, float) @ self.t)


def _residuals(x: np.ndarray, weights: np.ndarray, loss: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Residuals and Jacobian of ``c + exp(W u) - L`` at ``x = (c, u)``."""
    ex = np.exp(np.clip(weights @ x[1:], -50.0, 50.0))
    jacobian = np.empty((len(loss), len(x)))
    jacobian[:, 0] = 1.0
    jacobian[:, 1:] = ex[:, None] * weights
    return x[0] + ex - loss, jacobian


def _cost(x: np.ndarray, weights: np.ndarray, loss: np.ndarray) -> float:
    """Sum of squared residuals of ``c + exp(W u) - L`` at ``x = (c, u)``."""
    residual, _ = _residuals(x, weights, loss)
    return float(residual @ residual)


def _levenberg_marquardt(x: np.ndarray, weights: np.ndarray, loss: np.ndarray, *, max_iter: int = 200,
                         tol: float = 1e-12) -> tuple[np.ndarray, float]:
    residual, jacobian = _residuals(x, weights, loss)
    cost = float(residual @ residual)
    damping = 1e-3
    for _ in range(max_iter):
        gradient = jacobian.T @ residual
        normal = jacobian.T @ jacobian
        while True:
            step = np.linalg.solve(normal + damping * (np.diag(np.diag(normal)) + 1e-12 * np.eye(len(x))), -gradient)
            trial = x + step
            trial_residual, trial_jacobian = _residuals(trial, weights, loss)
            trial_cost = float(trial_residual @ trial_residual)
            if trial_cost < cost:
                break
            damping *= 10.0
            if damping > 1e12:
                return x, cost
        improvement = cost - trial_cost
        x, residual, jacobian, cost = trial, trial_residual, trial_jacobian, trial_cost
        damping = max(damping / 10.0, 1e-12)
        if improvement <= tol * max(cost, 1e-300) or float(np.abs(step).max()) < 1e-12:
            break
    return x, cost


def _starts(weights: np.ndarray, loss: np.ndarray) -> list[np.ndarray]:
    spread = max(float(loss.max() - loss.min()), 1e-6 * max(abs(float(loss.min())), 1.0))
    starts = []
    for offset in START_OFFSETS:
        c = float(loss.min()) - offset * spread
        u, *_ = np.linalg.lstsq(weights, np.log(loss - c), rcond=None)
        starts.append(np.r_[c, u])
    return starts


def fit_mixing_law(weights: np.ndarray, loss: np.ndarray, *, seed: int = 0, restarts: int = 4) -> MixingLaw:
    """Fit one target's law to ``weights`` ``(runs, sources)`` (rows on the simplex) and ``loss`` ``(runs,)``.

    Needs at least ``sources + 2`` runs (one more than the ``sources + 1`` free parameters).
    ``restarts`` random starts (normal noise around the best log-linear start, from ``seed``)
    join the log-linear ones.
    """
    weights, loss = np.asarray(weights, float), np.asarray(loss, float)
    num_rows, num_sources = weights.shape
    if num_rows < num_sources + 2:
        raise DataError(f"a mixing law over {num_sources} sources has {num_sources + 1} parameters and needs at "
                        f"least {num_sources + 2} runs; got {num_rows}: add runs or merge sources into families")
    starts = _starts(weights, loss)
    best = min(starts, key=lambda x: _cost(x, weights, loss))
    rng = np.random.default_rng(seed)
    scale = max(float(np.abs(best[1:]).max()), 1.0)
    starts += [best + np.r_[0.0, rng.normal(0.0, 0.5 * scale, num_sources)] for _ in range(restarts)]
    fits = [_levenberg_marquardt(x, weights, loss) for x in starts]
    x, cost = min(fits, key=lambda fit: fit[1])
    u = x[1:]
    return MixingLaw(c=float(x[0]), k=float(np.exp(u.mean())), t=u - u.mean(), rmse=float(np.sqrt(cost / num_rows)))
