"""Mixture weights and losses in, checked: pandas objects or arrays, every weight row on the simplex.

A weight row is one proxy run's mixture: non-negative, finite, summing to 1 (within ``tolerance``,
then renormalised exactly). Errors name the row (position and, for a DataFrame, its index label)
and say how to fix it. pandas is never imported here: DataFrames and Series are recognised by
their ``columns`` / ``name`` and ``to_numpy``.

>>> w, names = as_weights([[0.5, 0.5], [0.2, 0.8]], names=["a", "b"])
>>> names, w.tolist()
(('a', 'b'), [[0.5, 0.5], [0.2, 0.8]])
>>> as_weights([[0.5, 0.4]], names=["a", "b"])
Traceback (most recent call last):
...
mixlab.errors.DataError: weights row 0 sums to 0.9, not 1 (tolerance 0.001); ...
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mixlab._optional import require
from mixlab.errors import DataError


def import_extra(module: str, what: str) -> Any:
    """``module``, or one line naming the extra that installs it (a :class:`~mixlab.errors.MissingDependencyError`,
    which the CLI prints as its one error line)."""
    return require(module, "search", what)


def is_frame(value: Any) -> bool:
    return hasattr(value, "columns") and hasattr(value, "to_numpy")


def is_series(value: Any) -> bool:
    return not is_frame(value) and hasattr(value, "to_numpy") and hasattr(value, "name")


def _row_label(frame: Any, row: int) -> str:
    if frame is None:
        return f"row {row}"
    label = frame.index[row]
    return f"row {row}" if label == row else f"row {row} (index {label!r})"


def as_weights(weights: Any, names: Sequence[str] | None = None, *, tolerance: float = 1e-3,
               where: str = "weights") -> tuple[np.ndarray, tuple[str, ...]]:
    """``(W, names)``: a float array ``(runs, columns)`` with rows summing to exactly 1, and column names.

    ``weights`` is a DataFrame (its columns name the tasks or families) or a 2-D array with ``names``
    (default ``w0, w1, ...``). Checks: 2-D, at least one row and column, unique names, finite, >= 0,
    each row's sum within ``tolerance`` of 1.
    """
    frame = weights if is_frame(weights) else None
    if frame is not None:
        frame_names = tuple(str(c) for c in frame.columns)
        if names is not None and tuple(names) != frame_names:
            raise DataError(f"{where}: names= {list(names)} disagrees with the DataFrame's columns "
                            f"{list(frame_names)}; drop names= for a DataFrame")
        names = frame_names
        try:
            values = frame.to_numpy(dtype=float)
        except (TypeError, ValueError) as exc:
            kinds = {str(c): str(t) for c, t in frame.dtypes.items() if not np.issubdtype(t, np.number)}
            raise DataError(f"{where}: columns {kinds} are not numbers; keep only weight columns") from exc
    else:
        try:
            values = np.asarray(weights, dtype=float)
        except (TypeError, ValueError) as exc:
            raise DataError(f"{where}: cannot read {type(weights).__name__} as a 2-D array of numbers") from exc
    if values.ndim != 2 or values.shape[0] == 0 or values.shape[1] == 0:
        raise DataError(f"{where}: expected a 2-D table (runs x tasks) with at least one row and column, "
                        f"got shape {values.shape}")
    names = tuple(names) if names is not None else tuple(f"w{j}" for j in range(values.shape[1]))
    if len(names) != values.shape[1]:
        raise DataError(f"{where}: {values.shape[1]} columns but {len(names)} names {list(names)}")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DataError(f"{where}: column name(s) {repeated} appear more than once; give each column one name")
    _check_rows(values, names, frame, tolerance, where)
    return values / values.sum(axis=1, keepdims=True), names


def _check_rows(values: np.ndarray, names: Sequence[str], frame: Any, tolerance: float, where: str) -> None:
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        row, col = map(int, np.argwhere(bad)[0])
        value = float(values[row, col])
        raise DataError(f"{where} {_row_label(frame, row)}, column {names[col]!r}: {value!r} is not a finite number "
                        f">= 0; a mixture weight is a probability")
    sums = values.sum(axis=1)
    off = np.flatnonzero(np.abs(sums - 1.0) > tolerance)
    if off.size:
        row = int(off[0])
        more = f" ({off.size} rows in all)" if off.size > 1 else ""
        raise DataError(f"{where} {_row_label(frame, row)} sums to {sums[row]:.6g}, not 1 (tolerance {tolerance:g})"
                        f"{more}; normalise each row, e.g. weights.div(weights.sum(axis=1), axis=0), or leave "
                        f"out columns that are not weights")


def align(weights: Any, names: Sequence[str], *, tolerance: float = 1e-3, where: str = "weights") -> np.ndarray:
    """Weights for a model fitted on ``names``: a DataFrame's columns are matched by name (any order);
    an array must have ``len(names)`` columns in that order. Unknown or missing columns raise."""
    if is_frame(weights):
        given = [str(c) for c in weights.columns]
        unknown = [c for c in given if c not in names]
        missing = [n for n in names if n not in given]
        if unknown:
            raise DataError(f"{where}: unknown column(s) {unknown}; the model was fitted on {list(names)}")
        if missing:
            raise DataError(f"{where}: missing column(s) {missing}; give a weight (0 is fine) for every fitted "
                            f"column {list(names)}")
        weights = weights[list(names)]
        values, _ = as_weights(weights, tolerance=tolerance, where=where)
        return values
    values = np.asarray(weights, dtype=float)
    if values.ndim == 1:
        values = values[None, :]
    if values.ndim != 2 or values.shape[1] != len(names):
        raise DataError(f"{where}: shape {values.shape} does not match the {len(names)} fitted columns "
                        f"{list(names)}; give one column per name, in that order, or a DataFrame")
    values, _ = as_weights(values, names, tolerance=tolerance, where=where)
    return values


def as_losses(losses: Any, num_rows: int, targets: Sequence[str] | None = None) -> tuple[np.ndarray, tuple[str, ...]]:
    """``(Y, targets)``: a float array ``(runs, targets)`` and target names.

    ``losses`` is a Series (named target), a DataFrame (one target per column), a 1-D array (one target,
    ``targets`` or ``("loss",)``) or a 2-D array (``targets`` or ``loss0, loss1, ...``).
    """
    if is_frame(losses):
        names = tuple(str(c) for c in losses.columns)
        values = np.asarray(losses.to_numpy(dtype=float))
    elif is_series(losses):
        names = (str(losses.name) if losses.name is not None else "loss",)
        values = np.asarray(losses.to_numpy(dtype=float))[:, None]
    else:
        values = np.asarray(losses, dtype=float)
        if values.ndim == 1:
            values = values[:, None]
        names = tuple(f"loss{k}" for k in range(values.shape[1])) if values.ndim == 2 and values.shape[1] > 1 \
            else ("loss",)
    if targets is not None:
        if len(targets) != values.shape[-1]:
            raise DataError(f"losses: {values.shape[-1]} target column(s) but targets={list(targets)}")
        names = tuple(targets)
    if values.ndim != 2 or values.shape[0] != num_rows:
        raise DataError(f"losses: {values.shape[0] if values.ndim else 0} rows but the weights have {num_rows}; "
                        f"give one loss per weight row")
    bad = np.argwhere(~np.isfinite(values))
    if bad.size:
        row, col = map(int, bad[0])
        value = float(values[row, col])
        raise DataError(f"losses row {row}, target {names[col]!r}: {value!r} is not finite; drop runs that failed "
                        f"before fitting")
    return values, names
