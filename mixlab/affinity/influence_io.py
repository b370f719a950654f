"""Influence matrices on disk (JSON or CSV, provenance included); :class:`~mixlab.affinity.InfluenceMatrix`'s
``save`` and ``load`` call this module, which imports nothing of it (matrices are read by attribute).

JSON (``format: mixlab.influence/1``): ``provenance``, ``sources``, ``targets``, ``values`` (rows are
sources; ``null`` where unmeasured), and ``lower``, ``upper``, ``level`` when there are intervals.

CSV: one row per cell (empty ``value`` where unmeasured, so the order of sources and targets
survives), columns ``source, target, value, lower, upper, level, kind, metric, baseline, interval,
runs`` (provenance repeated on every row, ``runs`` joined by ``;``). A CSV with a ``value`` column is
an influence matrix; one with ``score`` and ``budget`` is a co-training table
(:func:`~mixlab.affinity.transfer_graph`); :func:`is_influence_file` tells them apart.
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from mixlab.errors import DataError

FORMAT = "mixlab.influence/1"

CSV_COLUMNS = ("source", "target", "value", "lower", "upper", "level", "kind", "metric", "baseline", "interval",
               "runs")


def _plain(matrix: np.ndarray | None) -> list[list[float | None]] | None:
    if matrix is None:
        return None
    return [[float(v) if math.isfinite(v) else None for v in row] for row in np.asarray(matrix, float)]


def _array(rows: Any, shape: tuple[int, int], where: str) -> np.ndarray:
    try:
        out = np.array([[math.nan if v is None else float(v) for v in row] for row in rows], dtype=float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{where}: expected a list of rows of numbers (null where unmeasured)") from exc
    if out.shape != shape:
        raise DataError(f"{where}: shape {out.shape}, expected {shape} (sources x targets)")
    return out


def _cell(value: float) -> str:
    return repr(float(value)) if math.isfinite(value) else ""


def save_influence(matrix: Any, path: str | os.PathLike) -> Path:
    """Write ``matrix`` as ``.json`` or ``.csv`` (parent folders created); returns the path."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".json", ".csv"):
        raise DataError(f"influence file {str(path)!r}: write .json or .csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    provenance = matrix.provenance.model_dump()
    if suffix == ".json":
        data = {"format": FORMAT, "provenance": provenance, "sources": list(matrix.sources),
                "targets": list(matrix.targets), "values": _plain(matrix.values)}
        if matrix.has_intervals:
            data |= {"lower": _plain(matrix.lower), "upper": _plain(matrix.upper), "level": matrix.level}
        path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        return path
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for s, source in enumerate(matrix.sources):
            for t, target in enumerate(matrix.targets):
                bounds = matrix.interval(source, target) or (math.nan, math.nan)
                writer.writerow({"source": source, "target": target, "value": _cell(matrix.values[s, t]),
                                 "lower": _cell(bounds[0]), "upper": _cell(bounds[1]),
                                 "level": "" if matrix.level is None else matrix.level,
                                 "kind": provenance["kind"], "metric": provenance["metric"],
                                 "baseline": provenance["baseline"] or "", "interval": provenance["interval"] or "",
                                 "runs": ";".join(provenance["runs"])})
    return path


def load_influence(path: str | os.PathLike) -> dict[str, Any]:
    """The parts of a matrix (``sources, targets, values, lower, upper, level, provenance`` as a dict) read
    from a file written by :func:`save_influence` (or by hand in the same format)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"influence file {str(path)!r} does not exist")
    if path.suffix.lower() == ".json":
        return _load_json(path)
    return _load_csv(path)


def _load_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"influence file {str(path)!r} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise DataError(f"influence file {str(path)!r}: expected a JSON object with format {FORMAT!r}")
    missing = [k for k in ("provenance", "sources", "targets", "values") if k not in data]
    if missing:
        raise DataError(f"influence file {str(path)!r} lacks {missing}")
    shape = (len(data["sources"]), len(data["targets"]))
    bounds = {k: _array(data[k], shape, f"{path.name}: {k}") if data.get(k) is not None else None
              for k in ("lower", "upper")}
    return {"sources": tuple(data["sources"]), "targets": tuple(data["targets"]),
            "values": _array(data["values"], shape, f"{path.name}: values"), "provenance": data["provenance"],
            "level": data.get("level"), **bounds}


def _number(raw: str, where: str) -> float:
    try:
        return float(raw) if raw not in ("", None) else math.nan
    except ValueError as exc:
        raise DataError(f"{where}: {raw!r} is not a number") from exc


def _load_csv(path: Path) -> dict[str, Any]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ("source", "target", "value", "kind", "metric") if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"influence file {str(path)!r}: header {reader.fieldnames} lacks {missing}; "
                            f"expected {', '.join(CSV_COLUMNS)}")
        rows = list(reader)
    if not rows:
        raise DataError(f"influence file {str(path)!r} has no rows")
    sources = tuple(dict.fromkeys(r["source"] for r in rows))
    targets = tuple(dict.fromkeys(r["target"] for r in rows))
    values, lower, upper = (np.full((len(sources), len(targets)), math.nan) for _ in range(3))
    for n, row in enumerate(rows, start=2):
        where = f"{path.name} line {n}"
        cell = sources.index(row["source"]), targets.index(row["target"])
        values[cell] = _number(row["value"], where)
        lower[cell], upper[cell] = _number(row.get("lower", ""), where), _number(row.get("upper", ""), where)
    first = rows[0]
    provenance = {"kind": first["kind"], "metric": first["metric"], "baseline": first.get("baseline") or None,
                  "interval": first.get("interval") or None,
                  "runs": [r for r in (first.get("runs") or "").split(";") if r]}
    has_intervals = bool(np.isfinite(lower).any())
    level = _number(first.get("level", ""), f"{path.name} line 2") if has_intervals else None
    return {"sources": sources, "targets": targets, "values": values, "provenance": provenance,
            "lower": lower if has_intervals else None, "upper": upper if has_intervals else None, "level": level}


def is_influence_file(path: str | os.PathLike) -> bool:
    """A ``.json`` file, or a CSV whose header has a ``value`` column."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        return True
    if not path.is_file():
        return False
    with path.open(newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle), [])
    return "value" in header and "score" not in header
