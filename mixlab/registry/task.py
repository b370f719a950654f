"""The ``Task`` record: one text-to-text data set with its metadata and formatter."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from pydantic import Field, field_validator, model_validator

from mixlab._spec import Spec
from mixlab.errors import DataError, TaskSpecError
from mixlab.evaluation import metrics as metric_table  # light: the standard library only
from mixlab.registry.sources import BadRow, CallableSource, FileSource, HFSource, row_origin

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.+-]*(/[a-z0-9][a-z0-9_.+-]*)+$")
Formatter = Callable[[Mapping[str, Any]], Mapping[str, str]]
Postprocessor = Callable[[str], str]

_HINTS = {
    "name": "use a lower-case namespaced name such as 'myplugin/sentiment'",
    "family": "name the task family, e.g. 'NLI' or 'Summarization'",
    "num_examples": "give example counts per split, e.g. {'train': 1000}",
    "source": "use HFSource(path=...), FileSource(format=..., files=...) or CallableSource(fn=...)",
    "formatter": "give a function row -> {'inputs': str, 'targets': str}",
    "version": "use a version such as '1.0.0'",
    "metrics": "name metrics that mixlab.evaluation.metrics.names() lists, e.g. ('accuracy',)",
}


class Task(Spec):
    """A registered text-to-text task.

    >>> from mixlab import Task, CallableSource
    >>> t = Task(name="demo/echo", family="Demo", collection="demo", num_examples={"train": 2},
    ...          source=CallableSource(fn=lambda split: [{"x": "a"}, {"x": "b"}]),
    ...          formatter=lambda row: {"inputs": row["x"], "targets": row["x"].upper()})
    >>> [ex["targets"] for ex in t.examples("train")]
    ['A', 'B']
    """

    spec_kind = "task"
    spec_error = TaskSpecError
    spec_hints = _HINTS

    name: str = Field(description="namespaced name, 'namespace/task'")
    family: str = Field(min_length=1)
    collection: str = Field(min_length=1)
    num_examples: dict[str, int] = Field(description="declared examples per split; 'train' drives rates")
    source: HFSource | FileSource | CallableSource = Field(discriminator="kind")
    formatter: Formatter | None = None
    self_supervised: bool = False
    text_field: str = Field(default="text", description="row column holding raw text for self-supervised tasks")
    metrics: tuple[str, ...] = ()
    postprocess: Postprocessor | None = Field(
        default=None, description="text -> text for predictions and targets before metrics, after whitespace "
                                  "normalisation (see mixlab.evaluation.postprocess)")
    tags: frozenset[str] = frozenset()
    citation: str = ""
    license: str = ""
    description: str = ""
    version: str = "1.0.0"

    @field_validator("name")
    @classmethod
    def _check_name(cls, name: str) -> str:
        if not NAME_PATTERN.match(name):
            raise ValueError(f"{name!r} is not a namespaced lower-case name like 'exmix/mnli'")
        return name

    @field_validator("num_examples")
    @classmethod
    def _check_sizes(cls, sizes: dict[str, int]) -> dict[str, int]:
        if "train" not in sizes:
            raise ValueError("no 'train' count; rates are computed from the train split size")
        bad = {split: n for split, n in sizes.items() if n < 0}
        if bad:
            raise ValueError(f"negative example counts {bad}; counts must be >= 0")
        return sizes

    @field_validator("metrics")
    @classmethod
    def _check_metrics(cls, metrics: tuple[str, ...]) -> tuple[str, ...]:
        metric_table.check_names(metrics)  # a MetricError is a ValueError: reported as this field's error
        return metrics

    @field_validator("version")
    @classmethod
    def _check_version(cls, version: str) -> str:
        if not re.match(r"^\d+(\.\d+)*$", version):
            raise ValueError(f"{version!r} is not a dotted version number")
        return version

    @model_validator(mode="after")
    def _check_formatter(self) -> Task:
        if self.formatter is None and not self.self_supervised:
            raise ValueError("formatter: a supervised task needs a formatter row -> {'inputs', 'targets'}")
        return self

    # ----------------------------------------------------------------- data access
    @property
    def num_train(self) -> int:
        """Declared size of the train split (what rate strategies read)."""
        return self.num_examples["train"]

    @property
    def fingerprint(self) -> str:
        """``name@version``: what a run records to say exactly what it trained on."""
        return f"{self.name}@{self.version}"

    def load(self, split: str = "train", *, on_bad_row: str | None = None,
             **kwargs: Any) -> Sequence[Mapping[str, Any]]:
        """Random-access raw rows of ``split`` from the task's source; a ``DataError`` names the task.

        ``on_bad_row="skip"`` makes a :class:`FileSource` keep unreadable lines as ``BadRow``
        placeholders (so row indices stay aligned; :meth:`format` refuses them) instead of failing.
        """
        if on_bad_row is not None and isinstance(self.source, FileSource):
            kwargs["on_bad_row"] = on_bad_row
        try:
            return self.source.load(split, **kwargs)
        except DataError as exc:
            raise DataError(f"task {self.name!r}, split {split!r}: {exc}") from exc

    def format(self, row: Mapping[str, Any]) -> dict[str, str]:
        """Turn one raw row into ``{"inputs", "targets"}`` text; self-supervised rows give ``{"text"}``.

        A row that cannot give a correct example raises ``DataError``: a formatter that fails, a
        value that is not ``str``, or empty (or whitespace-only) inputs, targets or text. Nothing is
        converted with ``str()``, so a missing value never becomes the text ``"None"``.
        """
        return self._format(row)

    def format_at(self, rows: Sequence[Mapping[str, Any]], index: int, split: str = "train") -> dict[str, str]:
        """:meth:`format` of ``rows[index]``; a ``DataError`` also names the split, row index and file."""
        try:
            return self._format(rows[index])
        except DataError as exc:
            raise DataError(f"{exc}; at {split} row {index}{row_origin(rows, index)}") from exc

    def _format(self, row: Any) -> dict[str, str]:
        where = f"task {self.name!r}"
        if isinstance(row, BadRow):
            raise DataError(f"{where}: unreadable row ({row.reason})")
        if not isinstance(row, Mapping):
            raise DataError(f"{where}: row is a {type(row).__name__}, not a mapping of columns: {row!r:.120}")
        if self.self_supervised:
            text = row.get(self.text_field)
            if not isinstance(text, str):
                got = "missing" if text is None else f"of type {type(text).__name__}"
                raise DataError(f"{where}: row has no text column {self.text_field!r} ({got}; keys {sorted(row)})")
            if not text.strip():
                raise DataError(f"{where}: text column {self.text_field!r} is empty")
            return {"text": text}
        assert self.formatter is not None
        try:
            out = self.formatter(row)
        except Exception as exc:  # broad: any formatter failure on a row is a data problem of that row
            raise DataError(f"{where}: formatter failed on row {_preview(row)}: {exc!r}") from exc
        if not isinstance(out, Mapping) or not {"inputs", "targets"} <= set(out):
            raise DataError(f"{where}: formatter must return {{'inputs', 'targets'}}, got {out!r:.200}")
        for key in ("inputs", "targets"):
            if not isinstance(out[key], str):
                raise DataError(f"{where}: formatter gave {key} of type {type(out[key]).__name__}, not str "
                                f"(row {_preview(row)})")
            if not out[key].strip():
                raise DataError(f"{where}: formatter gave empty {key} (row {_preview(row)})")
        return {"inputs": out["inputs"], "targets": out["targets"]}

    def examples(self, split: str = "train", **kwargs: Any) -> Iterator[dict[str, str]]:
        """Formatted examples of ``split``, in source order."""
        for row in self.load(split, **kwargs):
            yield self.format(row)

    def summary(self) -> dict[str, Any]:
        """Plain-data description (no callables), as the CLI's ``--json`` prints it."""
        return {
            "name": self.name,
            "family": self.family,
            "collection": self.collection,
            "num_examples": self.num_train,
            "tags": sorted(self.tags),
        }


def _preview(row: Mapping[str, Any]) -> str:
    text = repr(dict(row))
    return text if len(text) <= 120 else text[:117] + "..."
