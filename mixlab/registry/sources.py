"""Where a task's rows come from: the HF hub, local files, or a Python callable.

Every source answers ``load(split)`` with a random-access sequence of row dicts
(``len`` and integer indexing), which is what the mixture stream needs. Heavy
libraries (``datasets``, ``pyarrow``) are imported only inside ``load``.
"""

from __future__ import annotations

import bisect
import csv
import importlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from mixlab._optional import require
from mixlab._spec import Spec
from mixlab.errors import DataError, TaskSpecError
from mixlab.registry import hub

FILE_FORMATS = ("jsonl", "csv", "tsv", "parquet", "text")
BAD_ROW_POLICIES = ("error", "skip")


class BadRow:
    """Placeholder for a file line that could not be read (invalid UTF-8 or JSON, not an object),
    kept with ``on_bad_row="skip"`` so that row indices stay aligned; ``Task.format`` refuses it."""

    __slots__ = ("line", "path", "reason")

    def __init__(self, path: str, line: int, reason: str) -> None:
        self.path, self.line, self.reason = path, line, reason

    def __repr__(self) -> str:
        return f"BadRow({self.path}:{self.line}: {self.reason})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BadRow) and (self.path, self.line, self.reason) == (other.path, other.line,
                                                                                      other.reason)

    __hash__ = None  # type: ignore[assignment]


class FileRows(list):
    """Rows read from files, remembering which file each row came from (for error messages)."""

    def __init__(self) -> None:
        super().__init__()
        self.starts: list[int] = []
        self.files: list[str] = []

    def add_file(self, path: Path, rows: list[Any]) -> None:
        self.starts.append(len(self))
        self.files.append(str(path))
        self.extend(rows)

    def origin(self, index: int) -> str:
        """``"<file>, record k"`` for row ``index`` (k counts that file's rows from 0)."""
        k = bisect.bisect_right(self.starts, index) - 1
        return f"{self.files[k]}, record {index - self.starts[k]}"


def row_origin(rows: Any, index: int) -> str:
    """`` (file <path>, record k)`` when ``rows`` came from files, else ``""``."""
    origin = getattr(rows, "origin", None)
    if origin is None:
        return ""
    try:
        return f" (file {origin(index)})"
    except Exception:  # noqa: BLE001 - an origin lookup must never hide the real error
        return ""


class _Source(Spec):
    spec_kind = "task source"
    spec_error = TaskSpecError

    def load(self, split: str) -> Sequence[Mapping[str, Any]]:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - interface
        raise NotImplementedError


class HFSource(_Source):
    """A data set on the Hugging Face hub, loaded with ``datasets.load_dataset``.

    ``splits`` maps mixlab's split names to the hub's (e.g. ``{"train": "train_r1"}``).
    ``revision="refs/convert/parquet"`` with ``data_dir`` reaches the hub's parquet copy
    of script-based data sets, which ``datasets`` >= 4 refuses to run.
    """

    kind: Literal["hf"] = "hf"
    path: str = Field(min_length=1, description="hub id, e.g. 'nyu-mll/glue', or a builder such as 'csv'")
    config: str | None = None
    splits: dict[str, str] = Field(default_factory=lambda: {"train": "train", "validation": "validation"})
    revision: str | None = None
    data_dir: str | None = None
    data_files: dict[str, str | list[str]] | None = None

    def load_kwargs(self, split: str) -> dict[str, Any]:
        """The exact keyword arguments passed to ``datasets.load_dataset`` for ``split``."""
        if split not in self.splits:
            raise DataError(f"source {self.path!r} has no split {split!r}; it has {sorted(self.splits)}")
        hub_split = self.splits[split]
        kwargs: dict[str, Any] = {"path": self.path, "split": hub_split}
        for key in ("revision", "data_dir"):
            value = getattr(self, key)
            if value is not None:
                kwargs[key] = value
        if self.data_files is not None:  # only this split's files: the others need not exist locally
            if hub_split not in self.data_files:
                raise DataError(f"source {self.path!r} names no data_files for split {hub_split!r}; "
                                f"it has {sorted(self.data_files)}")
            kwargs["data_files"] = {hub_split: self.data_files[hub_split]}
        if self.config is not None:
            kwargs["name"] = self.config
        return kwargs

    def mirror_files(self, split: str, mirror: str | Path | None = None) -> list[str] | None:
        """Local copies of ``split`` in a data mirror, or None when the mirror has none.

        The mirror is ``mirror`` or the ``MIXLAB_DATA_MIRROR`` environment variable: the folder
        to copy data into for machines that cannot reach the hub. A hub data set lives at
        ``<mirror>/<path>/<config or "default">/<hub split>.{parquet,jsonl,json,csv,tsv,txt}``
        (or ``<hub split>-*.parquet`` shards); a file named by URL in ``data_files`` lives at
        ``<mirror>/<the URL without its scheme>``, and ``data_files`` patterns of a hub repository
        under ``<mirror>/<path>/``. Local files of the generic builders are never mirrored.
        """
        root = mirror or os.environ.get(MIRROR_ENV)
        if not root:
            return None
        hub_split = self.load_kwargs(split)["split"]
        if self.data_files is None:
            folder = Path(root) / self.path / (self.config or "default")
            found = [p for p in sorted(folder.glob(f"{hub_split}.*")) if p.suffix in _MIRROR_SUFFIXES]
            found += sorted(folder.glob(f"{hub_split}-*.parquet"))
            return [str(p) for p in found] or None
        named = self.data_files.get(hub_split)
        names = [named] if isinstance(named, str) else list(named or [])
        if names and all("://" in name for name in names):
            copies = [Path(root) / name.split("://", 1)[1] for name in names]
            return [str(p) for p in copies] if all(p.is_file() for p in copies) else None
        if names and self.path not in _BUILDERS:  # patterns relative to a hub repository
            matches = [sorted(Path(root, self.path).glob(pattern)) for pattern in names]
            return [str(p) for group in matches for p in group] if all(matches) else None
        return None

    def load(self, split: str, *, local_files: str | Sequence[str] | None = None, **overrides: Any):
        """Load ``split`` as a ``datasets.Dataset``.

        ``local_files`` replaces the hub with local files of the same schema (json, csv,
        parquet or text chosen by extension): that is how the loading path is tested offline.
        Without it, copies in the data mirror (:meth:`mirror_files`) are used when there are some.
        """
        datasets = require("datasets", "data", f"loading {self.describe()}")
        kwargs = self.load_kwargs(split)
        if local_files is None and (mirrored := self.mirror_files(split)):
            if self.path in _BUILDERS:  # the same builder and options, reading the mirrored copies of its URLs
                kwargs["data_files"] = {kwargs["split"]: mirrored}
            else:
                local_files = mirrored
        if local_files is not None:
            files = [local_files] if isinstance(local_files, str) else list(local_files)
            builder = _builder_for(files[0])
            # mixlab's split name: a hub split expression ("train_r1+train_r2") is no valid key here
            kwargs = {"path": builder, "data_files": {split: files}, "split": split}
            if builder == "csv" and files[0].endswith(".tsv"):
                kwargs["delimiter"] = "\t"
        kwargs.update(overrides)
        reason = hub.unreachable(hub.hosts_of(_file_names(kwargs.get("data_files")),
                                              hub=kwargs["path"] not in _BUILDERS))
        try:
            with hub.cache_only(reason is not None):  # unreachable: the local cache or nothing, without retries
                return datasets.load_dataset(**kwargs)
        except Exception as exc:  # broad: datasets, huggingface_hub and httpx raise unrelated types for it
            if not hub.is_connection_error(exc):
                raise
            reason = reason or f"cannot reach the hub (datasets: {hub.short_reason(exc)})"
            raise DataError(self.unreachable_message(split, reason)) from exc

    def unreachable_message(self, split: str, reason: str) -> str:
        """One line: which data set could not be loaded, what could not be reached, and the mirror to set up."""
        return (f"cannot load {self.describe()} split {split!r}: {reason}, and the local datasets cache has no "
                f"copy; fix: copy the data to <folder>/{self.mirror_layout(split)} and set {MIRROR_ENV}=<folder> "
                f"(docs/training.md, 'Training offline')")

    def mirror_layout(self, split: str) -> str:
        """Where :meth:`mirror_files` looks for ``split``, relative to the mirror folder."""
        hub_split = self.load_kwargs(split)["split"]
        named = (self.data_files or {}).get(hub_split)
        names = [named] if isinstance(named, str) else list(named or [])
        if names and all("://" in name for name in names):
            return " and ".join(name.split("://", 1)[1] for name in names)
        if names:
            return " and ".join(f"{self.path}/{name}" for name in names)
        return f"{self.path}/{self.config or 'default'}/{hub_split}.{{parquet,jsonl,csv,...}}"

    def describe(self) -> str:
        parts = [self.path]
        if self.config:
            parts.append(f"config={self.config}")
        if self.revision:
            parts.append(f"revision={self.revision}")
        if self.data_dir:
            parts.append(f"data_dir={self.data_dir}")
        return "hf:" + " ".join(parts)


MIRROR_ENV = "MIXLAB_DATA_MIRROR"
_MIRROR_SUFFIXES = (".parquet", ".jsonl", ".json", ".csv", ".tsv", ".txt")
_BUILDERS = frozenset({"csv", "json", "text", "parquet", "arrow"})  # generic loaders: data_files are the data


def _file_names(data_files: Any) -> list[str]:
    """Every file or URL named in ``data_files`` (a str, a list, or split -> str or list)."""
    values = list(data_files.values()) if isinstance(data_files, Mapping) else [data_files] if data_files else []
    return [str(f) for value in values for f in ([value] if isinstance(value, str | os.PathLike) else value)]


def _builder_for(path: str) -> str:
    suffix = Path(path).suffix.lower()
    return {".json": "json", ".jsonl": "json", ".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".txt": "text"}.get(
        suffix, "json"
    )


class FileSource(_Source):
    """Local files per split: JSONL, CSV/TSV, Parquet or plain text (one row per line, column ``text``).

    Relative paths resolve against ``root`` (plugins set it to their package folder).
    """

    kind: Literal["files"] = "files"
    format: Literal["jsonl", "csv", "tsv", "parquet", "text"]
    files: dict[str, list[str]] = Field(description="split -> list of paths (``str`` or ``pathlib.Path``)")
    root: str | None = Field(default=None, description="folder relative paths resolve against (``str`` or ``Path``)")

    @field_validator("files", mode="before")
    @classmethod
    def _path_strings(cls, files: Any) -> Any:
        if isinstance(files, Mapping):  # Path objects are kept as the strings they spell (the spec stays plain data)
            return {split: [os.fspath(p) if isinstance(p, os.PathLike) else p for p in paths]
                    if isinstance(paths, (list, tuple)) else paths for split, paths in files.items()}
        return files

    @field_validator("root", mode="before")
    @classmethod
    def _root_string(cls, root: Any) -> Any:
        return os.fspath(root) if isinstance(root, os.PathLike) else root

    @field_validator("files")
    @classmethod
    def _non_empty(cls, files: dict[str, list[str]]) -> dict[str, list[str]]:
        for split, paths in files.items():
            if not paths:
                raise ValueError(f"split {split!r} lists no files; give at least one path")
        return files

    def paths(self, split: str) -> list[Path]:
        if split not in self.files:
            raise DataError(f"file source has no split {split!r}; it has {sorted(self.files)}")
        base = Path(self.root) if self.root else Path()
        return [p if p.is_absolute() else base / p for p in map(Path, self.files[split])]

    def load(self, split: str, *, on_bad_row: str = "error") -> FileRows:
        """Rows of ``split``; ``on_bad_row="skip"`` keeps unreadable lines as :class:`BadRow` placeholders."""
        rows = FileRows()
        for path in self.paths(split):
            rows.add_file(path, read_rows(path, self.format, on_bad_row=on_bad_row))
        return rows

    def describe(self) -> str:
        return f"files:{self.format}:" + ",".join(f"{s}={len(p)}" for s, p in sorted(self.files.items()))


def read_rows(path: Path, fmt: str, *, on_bad_row: str = "error") -> list[Any]:
    """Read one local file into row dicts; errors name the file and the line.

    ``on_bad_row="skip"``: a jsonl/text line that is not valid UTF-8 (or, for jsonl, not a JSON
    object) becomes a :class:`BadRow` placeholder instead of raising ``DataError``; CSV/TSV and
    Parquet files are read whole and always raise.
    """
    if on_bad_row not in BAD_ROW_POLICIES:
        raise DataError(f"on_bad_row must be one of {list(BAD_ROW_POLICIES)}, got {on_bad_row!r}")
    if not path.exists():
        raise DataError(f"data file {str(path)!r} does not exist")
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_number = raw.count(b"\n", 0, exc.start) + 1
        if on_bad_row == "error" or fmt in ("csv", "tsv"):
            raise DataError(f"{path}: not valid UTF-8 at byte {exc.start} (line {line_number}); fix: re-encode the "
                            "file as UTF-8, or set on_bad_row='skip' (jsonl/text files) to skip such lines") from exc
        return _read_lines_skipping(path, raw.split(b"\n"), fmt)
    if fmt in ("csv", "tsv"):
        return list(csv.DictReader(text.splitlines(), delimiter="\t" if fmt == "tsv" else ","))
    lines = [line.rstrip("\r") for line in text.split("\n")]  # as _read_lines_skipping: only \n ends a line
    if fmt == "text":
        return [{"text": line} for line in lines if line.strip()]
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        rows.append(_json_row(path, number, line, on_bad_row))
    return rows


def _json_row(path: Path, number: int, line: str, on_bad_row: str) -> Any:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        reason = f"invalid JSON ({exc.msg})"
    else:
        if isinstance(row, dict):
            return row
        reason = f"expected a JSON object, got {type(row).__name__}"
    if on_bad_row == "skip":
        return BadRow(str(path), number, reason)
    raise DataError(f"{path}:{number}: {reason}")


def _read_lines_skipping(path: Path, lines: list[bytes], fmt: str) -> list[Any]:
    """jsonl / text lines decoded one at a time; undecodable ones become ``BadRow``."""
    rows: list[Any] = []
    for number, data in enumerate(lines, start=1):
        try:
            line = data.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError as exc:
            if data.strip():
                rows.append(BadRow(str(path), number, f"not valid UTF-8 at byte {exc.start} of the line"))
            continue
        if not line.strip():
            continue
        rows.append({"text": line} if fmt == "text" else _json_row(path, number, line, "skip"))
    return rows


class CallableSource(_Source):
    """Rows produced by a Python callable ``fn(split) -> iterable of dicts``.

    ``fn`` is a callable or a ``"module:attr"`` string resolved at load time.
    """

    kind: Literal["callable"] = "callable"
    fn: Callable[[str], Any] | str

    @field_validator("fn")
    @classmethod
    def _dotted(cls, fn: Callable[[str], Any] | str) -> Callable[[str], Any] | str:
        if isinstance(fn, str) and ":" not in fn:
            raise ValueError(f"{fn!r} is not 'module:attr'; write e.g. 'mypkg.data:rows'")
        return fn

    def resolve(self) -> Callable[[str], Any]:
        if callable(self.fn):
            return self.fn
        module, _, attr = self.fn.partition(":")
        target: Any = importlib.import_module(module)
        for part in attr.split("."):
            target = getattr(target, part)
        return target

    def load(self, split: str) -> list[dict[str, Any]]:
        rows = self.resolve()(split)
        return rows if isinstance(rows, list) else list(rows)

    def describe(self) -> str:
        fn = self.fn if isinstance(self.fn, str) else f"{self.fn.__module__}:{self.fn.__qualname__}"
        return f"callable:{fn}"


Source = HFSource | FileSource | CallableSource
