"""T5 span corruption, vectorised over a whole batch of sequences.

For a sequence of ``n`` tokens: ``num_noise = clip(round(n * density), 1, n - 1)`` (1 when
``n == 1``), ``num_spans = clip(round(num_noise / mean_span), 1, min(num_noise, n - num_noise))``.
Noise and non-noise tokens are each split into ``num_spans`` positive parts uniformly at random
(a uniformly random set of cut points), and the parts interleave. Noise span k becomes sentinel k
(id ``vocab_size - 1 - k``): inputs are the kept tokens with sentinel k in place of span k, then
EOS; targets are ``sentinel k, span k`` pairs in order, then EOS.

**The end-of-sequence quirk (t5 #905).** T5 always starts with non-noise, so every mask ends in a
noise span and the last tokens of a sequence are always masked. mixlab's default
(``t5_compatible=False``) flips a fair coin per sequence: heads, T5's layout; tails, the mirror
layout that starts with noise and ends with non-noise. Counts and lengths are identical, so about
half the sequences end in noise and the per-position noise rate is symmetric.
``t5_compatible=True`` reproduces T5 exactly (every sequence ends in noise).

>>> import numpy as np
>>> raw, targets = corruption_lengths(512)
>>> raw, targets
(568, 114)
>>> out = span_corrupt([np.arange(3, 3 + raw)], vocab_size=32100, rng=np.random.default_rng(0))
>>> len(out.inputs[0]), len(out.targets[0])
(512, 114)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from mixlab.errors import DataError
from mixlab.text.ragged import Ragged, append_token

NOISE_DENSITY = 0.15
MEAN_NOISE_SPAN_LENGTH = 3.0
NUM_SENTINELS = 100


def noise_counts(lengths: np.ndarray, noise_density: float = NOISE_DENSITY,
                 mean_noise_span_length: float = MEAN_NOISE_SPAN_LENGTH) -> tuple[np.ndarray, np.ndarray]:
    """``(num_noise, num_spans)`` for each sequence length (round half to even, as T5)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    num_noise = np.clip(np.round(lengths * noise_density).astype(np.int64), 1, np.maximum(lengths - 1, 1))
    num_spans = np.round(num_noise / mean_noise_span_length).astype(np.int64)
    limit = np.maximum(np.minimum(num_noise, lengths - num_noise), 1)
    return num_noise, np.clip(num_spans, 1, limit)


def corrupted_lengths(length: int, noise_density: float = NOISE_DENSITY,
                      mean_noise_span_length: float = MEAN_NOISE_SPAN_LENGTH) -> tuple[int, int]:
    """``(inputs, targets)`` lengths, EOS included, after corrupting ``length`` raw tokens."""
    num_noise, num_spans = noise_counts(np.array([length]), noise_density, mean_noise_span_length)
    return int(length - num_noise[0] + num_spans[0] + 1), int(num_noise[0] + num_spans[0] + 1)


def corruption_lengths(input_length: int, noise_density: float = NOISE_DENSITY,
                       mean_noise_span_length: float = MEAN_NOISE_SPAN_LENGTH) -> tuple[int, int]:
    """``(raw_length, target_length)``: the largest raw length whose corrupted inputs fit ``input_length``.

    >>> corruption_lengths(512), corruption_lengths(128)
    ((568, 114), (141, 29))
    """
    if input_length < 2:
        raise ValueError(f"input_length={input_length} leaves no room for a sentinel and EOS; fix: use >= 2")
    raw = 1
    while corrupted_lengths(raw + 1, noise_density, mean_noise_span_length)[0] <= input_length:
        raw += 1
    return raw, corrupted_lengths(raw, noise_density, mean_noise_span_length)[1]


def _random_partition(num_items: np.ndarray, num_parts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``[B, max(num_parts)]`` part sizes: row b splits ``num_items[b]`` into ``num_parts[b]`` positive parts.

    Uniform over compositions: a uniformly random subset of ``num_parts - 1`` of the ``num_items - 1``
    cut points. Parts past ``num_parts[b]`` are 0; ``num_items == 0`` gives a single empty part.
    """
    batch = len(num_items)
    width = int(num_parts.max(initial=1))
    num_cut_points = int(max(num_items.max(initial=0) - 1, 0))
    cut = np.zeros((batch, num_cut_points), dtype=bool)
    if num_cut_points:
        keys = rng.random((batch, num_cut_points))
        keys[np.arange(num_cut_points)[None, :] >= (num_items - 1)[:, None]] = np.inf
        order = np.argsort(keys, axis=1, kind="stable")
        chosen = np.arange(num_cut_points)[None, :] < (num_parts - 1)[:, None]
        rows = np.broadcast_to(np.arange(batch)[:, None], order.shape)
        cut[rows[chosen], order[chosen]] = True
    # part id of item i = number of cut points <= i (cut point p sits between items p and p + 1)
    part_id = np.concatenate([np.zeros((batch, 1), np.int64), np.cumsum(cut, axis=1)], axis=1)
    items = max(num_cut_points + 1, 1)
    valid = np.arange(items)[None, :] < num_items[:, None]
    flat = (np.arange(batch)[:, None] * width + part_id)[valid]
    return np.bincount(flat, minlength=batch * width).reshape(batch, width)


def noise_mask(lengths: Sequence[int] | np.ndarray, rng: np.random.Generator, *,
               noise_density: float = NOISE_DENSITY, mean_noise_span_length: float = MEAN_NOISE_SPAN_LENGTH,
               t5_compatible: bool = False, num_sentinels: int = NUM_SENTINELS,
               width: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(is_noise, span_index)``, each ``[B, width]``: the noise mask and each noise token's span number.

    Positions past a row's length are False / 0. See the module docstring for the layout.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    if lengths.size and lengths.min() < 1:
        raise DataError(f"span corruption: row {int(np.argmin(lengths))} is empty; fix: drop empty sequences first")
    width = int(lengths.max(initial=0)) if width is None else width
    num_noise, num_spans = noise_counts(lengths, noise_density, mean_noise_span_length)
    if num_spans.size and num_spans.max() > num_sentinels:
        row = int(np.argmax(num_spans))
        raise DataError(
            f"span corruption: row {row} ({int(lengths[row])} tokens) needs {int(num_spans[row])} noise spans but "
            f"only {num_sentinels} sentinels exist; fix: cut sequences shorter (a smaller input_length) "
            "or raise mean_noise_span_length"
        )
    batch = len(lengths)
    noise_parts = _random_partition(num_noise, num_spans, rng)
    kept_parts = _random_partition(lengths - num_noise, num_spans, rng)
    noise_first = np.zeros(batch, bool) if t5_compatible else rng.random(batch) < 0.5
    first = np.where(noise_first[:, None], noise_parts, kept_parts)
    second = np.where(noise_first[:, None], kept_parts, noise_parts)
    segments = np.stack([first, second], axis=2).reshape(batch, -1)
    ends = np.cumsum(segments, axis=1)
    # segment index of position j = number of segment ends <= j (empty segments count too)
    flat = (np.arange(batch)[:, None] * (width + 1) + np.minimum(ends, width)).ravel()
    marks = np.bincount(flat, minlength=batch * (width + 1)).reshape(batch, width + 1)
    segment = np.cumsum(marks, axis=1)[:, :width]
    valid = np.arange(width)[None, :] < lengths[:, None]
    is_noise = ((segment % 2 == 1) ^ noise_first[:, None]) & valid
    return is_noise, np.where(is_noise, segment // 2, 0)


class Corrupted(NamedTuple):
    """Span-corrupted rows: ``inputs`` and ``targets`` as ``Ragged`` (EOS included)."""

    inputs: Ragged
    targets: Ragged


def span_corrupt(tokens: Sequence[Sequence[int] | np.ndarray] | Ragged, *, vocab_size: int,
                 rng: np.random.Generator, noise_density: float = NOISE_DENSITY,
                 mean_noise_span_length: float = MEAN_NOISE_SPAN_LENGTH, t5_compatible: bool = False,
                 eos_id: int = 1, num_sentinels: int = NUM_SENTINELS) -> Corrupted:
    """Corrupt every row of ``tokens`` at once; rows may differ in length (each >= 1 token).

    Sentinel k is ``vocab_size - 1 - k``. ``inputs[i]`` + ``targets[i]`` reconstruct row i exactly
    (see ``reconstruct``). Raises ``DataError`` if a row needs more than ``num_sentinels`` spans.
    """
    rows = tokens if isinstance(tokens, Ragged) else Ragged.from_rows(tokens)
    dense = rows.padded()
    is_noise, span = noise_mask(rows.lengths, rng, noise_density=noise_density,
                                mean_noise_span_length=mean_noise_span_length, t5_compatible=t5_compatible,
                                num_sentinels=num_sentinels, width=dense.shape[1])
    valid = np.arange(dense.shape[1])[None, :] < rows.lengths[:, None]
    previous = np.zeros_like(is_noise)
    previous[:, 1:] = is_noise[:, :-1]
    span_start = is_noise & ~previous
    sentinel = (vocab_size - 1 - span).astype(np.int32)
    # inputs: kept tokens, and sentinel k at the first token of span k (row-major order = concatenated rows)
    in_keep = np.where(is_noise, span_start, valid)
    inputs = append_token(np.where(is_noise, sentinel, dense)[in_keep], in_keep.sum(axis=1), eos_id)
    # targets: for each position, the sentinel if a span starts there, then the token if it is noise
    t_keep = np.stack([span_start, is_noise], axis=2)
    t_values = np.stack([sentinel, dense], axis=2)
    targets = append_token(t_values[t_keep], t_keep.sum(axis=(1, 2)), eos_id)
    return Corrupted(inputs, targets)


def reconstruct(inputs: Sequence[int] | np.ndarray, targets: Sequence[int] | np.ndarray, *,
                vocab_size: int, eos_id: int = 1, num_sentinels: int = NUM_SENTINELS) -> np.ndarray:
    """The original tokens of one corrupted example (for tests and debugging)."""
    inputs, targets = np.asarray(inputs), np.asarray(targets)
    is_sentinel = lambda a: a >= vocab_size - num_sentinels  # noqa: E731
    assert inputs[-1] == eos_id and targets[-1] == eos_id
    spans = np.split(targets[:-1], np.flatnonzero(is_sentinel(targets[:-1])))[1:]
    by_sentinel = {int(span[0]): span[1:] for span in spans}
    pieces = [by_sentinel[int(t)] if is_sentinel(t) else np.array([t]) for t in inputs[:-1]]
    return np.concatenate(pieces) if pieces else np.zeros(0, inputs.dtype)
