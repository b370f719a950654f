"""The ExMix catalog: ``catalog.csv`` (one row per task) and ``collections.csv`` (Table 11, reconciled).

``catalog.csv`` is the single source of truth for names, families, sizes and sources; the
formatters live in :mod:`mixlab_exmix.formatters` under the same names. Files that must be
provided by the user (no public loadable copy) are looked up under ``$MIXLAB_EXMIX_DATA``
(default ``~/.cache/mixlab/exmix``); see the README for how to get each one.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

NAMESPACE = "exmix"
DATA_ENV = "MIXLAB_EXMIX_DATA"
DEFAULT_DATA_DIR = "~/.cache/mixlab/exmix"

# Table 1 of the ExT5 paper: the 8 task families and their codes (3 data sets each).
FAMILY_CODES: dict[str, str] = {
    "SUM": "Summarization",
    "DLG": "Dialogue",
    "NLI": "NLI",
    "CLS": "Classification",
    "SEM": "Semantic Parsing",
    "CMNS": "Commonsense",
    "CBQA": "Closed-Book QA",
    "RC": "Reading Comprehension",
}
# Families for the tasks that fit none of Table 1's eight.
EXTRA_FAMILIES = ("Data-to-Text", "Style Transfer", "Question Generation", "Fact Verification",
                  "Entity Linking", "Slot Filling", "Ranking")
PROVIDED = ("hub", "url", "user")


@dataclass(frozen=True, kw_only=True)
class Entry:
    """One ``catalog.csv`` row."""

    name: str
    t11: str
    member: str
    family: str
    code: str
    train: int
    path: str
    config: str | None
    train_split: str
    eval_split: str | None
    revision: str | None
    data_dir: str | None
    data_files: dict[str, str | list[str]] | None
    provided: str
    metrics: tuple[str, ...]
    license: str
    citation: str

    def __post_init__(self) -> None:
        assert self.provided in PROVIDED, (self.name, self.provided)
        assert self.family in FAMILY_CODES.values() or self.family in EXTRA_FAMILIES, (self.name, self.family)
        assert not self.code or FAMILY_CODES[self.code] == self.family, (self.name, self.code)


@dataclass(frozen=True, kw_only=True)
class Collection:
    """One Table 11 row: what the paper says and what the catalog uses."""

    name: str
    description: str
    paper_datasets: int
    paper_examples: int
    datasets_used: int
    examples_used: int


def _rows(filename: str) -> list[dict[str, str]]:
    text = resources.files(__package__).joinpath(filename).read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


def entries() -> list[Entry]:
    """All catalog rows, in file order."""
    out = []
    for r in _rows("catalog.csv"):
        out.append(Entry(
            name=r["name"], t11=r["t11"], member=r["member"], family=r["family"], code=r["code"],
            train=int(r["train"]), path=r["path"], config=r["config"] or None, train_split=r["train_split"],
            eval_split=r["eval_split"] or None, revision=r["revision"] or None, data_dir=r["data_dir"] or None,
            data_files=json.loads(r["data_files"]) if r["data_files"] else None, provided=r["provided"],
            metrics=tuple(m for m in r["metrics"].split(";") if m), license=r["license"], citation=r["citation"],
        ))
    return out


def collections() -> list[Collection]:
    """Table 11's 44 collections with the counts and sizes the catalog uses."""
    return [
        Collection(name=r["collection"], description=r["description"], paper_datasets=int(r["paper_datasets"]),
                   paper_examples=int(r["paper_examples"]), datasets_used=int(r["datasets_used"]),
                   examples_used=int(r["examples_used"]))
        for r in _rows("collections.csv")
    ]


def data_dir() -> Path:
    """Where user-provided files live: ``$MIXLAB_EXMIX_DATA`` or ``~/.cache/mixlab/exmix``."""
    return Path(os.environ.get(DATA_ENV) or DEFAULT_DATA_DIR).expanduser()


def resolve_files(entry: Entry, root: Path | None = None) -> dict[str, str | list[str]] | None:
    """``entry.data_files`` with user-provided paths made absolute under ``root`` (default :func:`data_dir`)."""
    if entry.data_files is None or entry.provided != "user":
        return entry.data_files
    base = root or data_dir()

    def absolute(path: str) -> str:
        return str(base / path)

    files = entry.data_files.items()
    return {split: absolute(p) if isinstance(p, str) else [absolute(x) for x in p] for split, p in files}
