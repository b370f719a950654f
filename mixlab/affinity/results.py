"""Read a long-form transfer table (``source, target, score, budget``) into checked rows.

Rows with ``source == target`` are intra-family (or intra-task) baselines, one per
baseline budget (ExT5 Table 2: ``data-100k`` and ``compute-200k``); every other row is a
co-training score, all at one co-training budget (``cotrain-200k``). Every problem is a
:class:`mixlab.DataError` naming the row (number and content) and the fix.
"""

from __future__ import annotations

import csv
import math
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from mixlab._spec import Spec
from mixlab.errors import DataError

COLUMNS = ("source", "target", "score", "budget")

Results = str | os.PathLike | Iterable[Mapping[str, Any] | BaseModel]


class TransferResult(Spec):
    """One cell of a transfer table: ``score`` of ``target`` after co-training with ``source``."""

    spec_kind = "transfer result"
    spec_error = DataError

    source: str
    target: str
    score: float
    budget: str


@dataclass(frozen=True, kw_only=True)
class Row:
    """A validated row and where it came from (``where`` is quoted in error messages)."""

    source: str
    target: str
    score: float
    budget: str
    where: str

    @property
    def is_baseline(self) -> bool:
        return self.source == self.target


def read_results(results: Results, *, budgets: Sequence[str] | None = None) -> list[Row]:
    """Parse and check a transfer table; ``results`` is a CSV path, dicts, or pydantic records.

    ``budgets``, when given, lists the allowed baseline budgets (others are "unknown").
    Checks: every column present, scores finite numbers, baselines positive, no cell
    twice, one co-training budget, and every node with a baseline at every budget.
    """
    rows = [_parse(raw, where) for raw, where in _raw_rows(results)]
    if not rows:
        raise DataError(f"{_label(results)} has no rows; expected columns {', '.join(COLUMNS)}")
    _check_cells(rows, budgets)
    return rows


def _label(results: Results) -> str:
    return f"results file {os.fspath(results)!r}" if isinstance(results, str | os.PathLike) else "results"


def _raw_rows(results: Results) -> Iterable[tuple[Mapping[str, Any], str]]:
    if isinstance(results, str | os.PathLike):
        path = Path(results)
        if not path.is_file():
            raise DataError(f"results file {str(path)!r} does not exist; give a CSV with columns {', '.join(COLUMNS)}")
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise DataError(f"results file {str(path)!r}: header {reader.fieldnames} lacks column(s) "
                                f"{missing}; expected {', '.join(COLUMNS)}")
            # line numbers count the header as line 1, like an editor does
            return [(raw, f"row {n} (line {n + 1} of {path.name})") for n, raw in enumerate(reader, start=1)]
    out = []
    for n, item in enumerate(results, start=1):
        if isinstance(item, BaseModel):
            item = item.model_dump()
        if not isinstance(item, Mapping):
            raise DataError(f"row {n}: {item!r:.80} is not a mapping or pydantic record; "
                            f"give dicts with keys {', '.join(COLUMNS)}")
        out.append((item, f"row {n}"))
    return out


def _show(raw: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={raw.get(k)!r}" for k in COLUMNS)


def _parse(raw: Mapping[str, Any], where: str) -> Row:
    missing = [c for c in COLUMNS if raw.get(c) in (None, "")]
    if missing:
        raise DataError(f"{where} ({_show(raw)}): missing {', '.join(missing)}; every row needs {', '.join(COLUMNS)}")
    try:
        score = float(raw["score"])
    except (TypeError, ValueError):
        score = math.nan
    if not math.isfinite(score) or isinstance(raw["score"], bool):
        raise DataError(f"{where} ({_show(raw)}): score {raw['score']!r} is not a finite number; write e.g. 64.91")
    source, target, budget = (str(raw[c]).strip() for c in ("source", "target", "budget"))
    if source == target and score <= 0:
        raise DataError(f"{where} ({_show(raw)}): baseline score {score} must be positive (gains are relative to it)")
    return Row(source=source, target=target, score=score, budget=budget, where=f"{where} ({_show(raw)})")


def _check_cells(rows: list[Row], budgets: Sequence[str] | None) -> None:
    seen: dict[tuple[str, str, str], Row] = {}
    for row in rows:
        key = (row.source, row.target, row.budget)
        if key in seen:
            raise DataError(f"{row.where}: duplicate cell {row.source} -> {row.target} at {row.budget!r}, "
                            f"first given at {seen[key].where}; keep one")
        seen[key] = row
    baseline_budgets = list(dict.fromkeys(r.budget for r in rows if r.is_baseline))
    allowed = list(budgets) if budgets is not None else baseline_budgets
    if not allowed:
        raise DataError(f"{rows[0].where}: no baseline rows (source == target); add one per node and budget")
    cotrain = [r for r in rows if not r.is_baseline]
    for row in rows:
        if row.is_baseline and row.budget not in allowed:
            raise DataError(f"{row.where}: unknown baseline budget {row.budget!r}; expected one of {allowed}")
    if cotrain:
        # the budget most co-training rows use (first seen on ties); any other is "unknown"
        counts = Counter(r.budget for r in cotrain)
        expected, num_expected = counts.most_common(1)[0]
        for row in cotrain:
            if row.budget != expected:
                raise DataError(f"{row.where}: unknown co-training budget {row.budget!r}; all co-training rows "
                                f"must share one budget ({num_expected} of {len(cotrain)} use {expected!r})")
        if expected in allowed:
            raise DataError(f"{cotrain[0].where}: co-training budget {expected!r} is also a baseline budget; "
                            f"give co-training rows their own budget label, e.g. 'cotrain-200k'")
    _check_baselines(rows, allowed)


def _check_baselines(rows: list[Row], allowed: list[str]) -> None:
    have = {(r.source, r.budget) for r in rows if r.is_baseline}
    first: dict[str, Row] = {}
    for row in rows:
        first.setdefault(row.target, row)
        first.setdefault(row.source, row)
    for node in sorted(first):
        for budget in allowed:
            if (node, budget) not in have:
                raise DataError(f"{first[node].where}: node {node!r} has no baseline at budget {budget!r}; "
                                f"add a row source={node}, target={node}, budget={budget}")
