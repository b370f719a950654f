"""``BatchConfig`` and the placement of examples into fixed-shape encoder-decoder batches.

Padding mode puts one example per row. Packing mode is greedy next-fit: examples fill a row in
stream order until the next one does not fit (in inputs or targets), which closes the row.
Every token's row, column, segment and position are computed with numpy from per-example
offsets; the only Python loop is the next-fit decision, once per example.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from mixlab._spec import Spec
from mixlab.errors import ConfigError
from mixlab.text.ragged import Ragged
from mixlab.text.span_corruption import NUM_SENTINELS, longest_fitting_raw, noise_counts

IGNORE_LABEL = -100


class BatchConfig(Spec):
    """How examples become batches.

    ``truncate`` says what happens to a supervised example whose inputs or targets (with EOS)
    exceed ``input_length`` / ``target_length``: ``"truncate"`` keeps the head and ends it with
    EOS, ``"skip"`` drops it, ``"error"`` raises. Both are counted in the iterator's ``stats``.
    Self-supervised text is cut into pieces of ``raw_length`` tokens, which always fit; with
    ``concat_text`` (default, as T5) the texts of one task within a chunk of items are joined first
    so pieces are full length.
    ``chunk_size`` stream items are tokenised and corrupted together; it fixes the random
    draws, so change it and a seeded run changes.
    ``t5_compatible_noise`` corrupts as T5's ``random_spans_noise_mask`` does (every mask ends in noise,
    float32 counts, no noise in a 1-token piece); see :mod:`mixlab.text.span_corruption` for what
    still differs.
    """

    spec_kind: ClassVar[str] = "batch config"
    spec_error: ClassVar[type[ConfigError]] = ConfigError
    spec_hints: ClassVar[dict[str, str]] = {
        "truncate": "use one of 'truncate', 'skip', 'error'",
        "input_length": "use at least 2 (room for a sentinel and EOS)",
    }

    batch_size: int = Field(gt=0)
    input_length: int = Field(default=512, ge=2)
    target_length: int = Field(default=114, ge=2)
    pack: bool = False
    single_task_batches: bool = False
    noise_density: float = Field(default=0.15, gt=0.0, lt=1.0)
    mean_noise_span_length: float = Field(default=3.0, ge=1.0)
    t5_compatible_noise: bool = False
    concat_text: bool = True
    truncate: Literal["truncate", "skip", "error"] = "truncate"
    chunk_size: int = Field(default=256, gt=0)
    drop_remainder: bool = False

    @model_validator(mode="after")
    def _check_lengths(self) -> BatchConfig:
        raw = self.raw_length
        if raw < 1:
            raise ValueError(
                f"target_length={self.target_length} cannot hold even one corrupted token; fix: raise target_length"
            )
        spans = int(noise_counts(np.array([raw]), self.noise_density, self.mean_noise_span_length,
                                 t5_compatible=self.t5_compatible_noise)[1][0])
        if spans > NUM_SENTINELS:
            raise ValueError(
                f"input_length={self.input_length} gives {raw}-token raw chunks with {spans} noise spans, more than "
                f"the {NUM_SENTINELS} sentinels; fix: lower input_length or raise mean_noise_span_length"
            )
        return self

    @property
    def raw_length(self) -> int:
        """Largest raw chunk whose corrupted inputs and targets fit ``input_length`` / ``target_length``
        (counted as the corruption will count them: in float32 with ``t5_compatible_noise``)."""
        return longest_fitting_raw(self.input_length, self.target_length, self.noise_density,
                                   self.mean_noise_span_length, t5_compatible=self.t5_compatible_noise)


class Placement:
    """Where each chosen example goes: row, 1-based segment, and input / target column offsets."""

    def __init__(self) -> None:
        self.rows: list[int] = []
        self.segments: list[int] = []
        self.input_offsets: list[int] = []
        self.target_offsets: list[int] = []
        self._row, self._segment, self._input_used, self._target_used = 0, 0, 0, 0

    def try_add(self, input_len: int, target_len: int, config: BatchConfig) -> bool:
        """Place one example (next-fit in packing mode); False when the batch is full."""
        fits = config.pack and self._segment > 0 and (
            self._input_used + input_len <= config.input_length
            and self._target_used + target_len <= config.target_length)
        if not fits and self._segment > 0:
            if self._row + 1 == config.batch_size:
                return False
            self._row, self._segment, self._input_used, self._target_used = self._row + 1, 0, 0, 0
        self._segment += 1
        self.rows.append(self._row)
        self.segments.append(self._segment)
        self.input_offsets.append(self._input_used)
        self.target_offsets.append(self._target_used)
        self._input_used += input_len
        self._target_used += target_len
        return True


def _scatter(rows: Ragged, placement: Placement, attr: str, width: int, batch_size: int):
    """Per-token (row, column, segment, position) arrays for one feature."""
    lengths = rows.lengths
    within = np.arange(len(rows.values)) - np.repeat(rows.offsets[:-1], lengths)
    row = np.repeat(np.asarray(placement.rows, np.int64), lengths)
    col = np.repeat(np.asarray(getattr(placement, attr), np.int64), lengths) + within
    segment = np.repeat(np.asarray(placement.segments, np.int32), lengths)
    assert col.size == 0 or col.max() < width, "an example longer than the row reached placement"
    ids = np.zeros((batch_size, width), np.int32)
    segments = np.zeros((batch_size, width), np.int32)
    positions = np.zeros((batch_size, width), np.int32)
    ids[row, col] = rows.values
    segments[row, col] = segment
    positions[row, col] = within
    return ids, segments, positions, row, col


def assemble(inputs: Ragged, targets: Ragged, task_ids: np.ndarray, placement: Placement,
             config: BatchConfig, task_names: list[str]) -> dict:
    """The contract's batch dict from placed examples (numpy int32, fixed shapes)."""
    b = config.batch_size
    input_ids, enc_seg, enc_pos, _, _ = _scatter(inputs, placement, "input_offsets", config.input_length, b)
    targets_ids, dec_seg, dec_pos, row, col = _scatter(targets, placement, "target_offsets", config.target_length, b)
    decoder_input_ids = np.zeros_like(targets_ids)
    decoder_input_ids[:, 1:] = targets_ids[:, :-1]
    decoder_input_ids[dec_pos == 0] = 0  # decoder start (pad) at every segment start and on padding
    task = np.full((b, config.target_length), -1, np.int32)
    task[row, col] = np.repeat(np.asarray(task_ids, np.int32), targets.lengths)
    return {
        "input_ids": input_ids,
        "encoder_segment_ids": enc_seg,
        "encoder_positions": enc_pos,
        "attention_mask": (enc_seg > 0).astype(np.int32),
        "decoder_input_ids": decoder_input_ids,
        "labels": np.where(dec_seg > 0, targets_ids, IGNORE_LABEL).astype(np.int32),
        "decoder_segment_ids": dec_seg,
        "decoder_positions": dec_pos,
        "decoder_task_ids": task,
        "task_names": list(task_names),
    }
