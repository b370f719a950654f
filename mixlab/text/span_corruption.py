"""T5 span corruption, vectorised over a whole batch of sequences.

For a sequence of ``n`` tokens: ``num_noise = clip(round(n * density), 1, n - 1)`` (1 when
``n == 1``), ``num_spans = clip(round(num_noise / mean_span), 1, min(num_noise, n - num_noise))``,
rounding half to even in float64 (the arithmetic of T5's ``random_spans_helper``).
Noise and non-noise tokens are each split into ``num_spans`` positive parts uniformly at random
(a uniformly random set of cut points), and the parts interleave. Noise span k becomes sentinel k
(id ``vocab_size - 1 - k``): inputs are the kept tokens with sentinel k in place of span k, then
EOS; targets are ``sentinel k, span k`` pairs in order, then EOS.

**The end-of-sequence quirk (t5 #905).** T5 always starts with non-noise, so every mask ends in a
noise span and the last tokens of a sequence are always masked. mixlab's default
(``t5_compatible=False``) flips a fair coin per sequence: heads, T5's layout; tails, the mirror
layout that starts with noise and ends with non-noise. Counts and lengths are identical, so about
half the sequences end in noise and the per-position noise rate is symmetric.

**``t5_compatible=True``** follows t5 0.9.4's ``random_spans_noise_mask`` (with its default
``random_roll=False``) and ``noise_span_to_unique_sentinel``: every mask starts with kept tokens
and ends in noise; ``n * density`` and ``num_noise / mean_span`` are computed and rounded in
float32, as T5 does in TensorFlow, so at some lengths one token more is masked than in float64
(190 tokens at density 0.15: 29, not 28); a 1-token sequence gets no noise (T5 pads the length to
2, masks the second position and cuts it off): inputs ``[token, EOS]``, targets
``[<extra_id_0>, EOS]``. What still differs: the random draws are numpy's, not TensorFlow's
stateless ones (same distribution: uniform over compositions; not the same masks for a seed), and
where T5 fails (more noise spans than kept tokens, at high densities: its ``tf.stack`` gets two
lengths) mixlab caps the spans at the kept tokens.

:func:`corruption_lengths` reproduces T5's ``random_spans_helper`` (see its docstring for the
differences at tiny lengths and at density 0.5).

>>> import numpy as np
>>> raw, targets = corruption_lengths(512)
>>> raw, targets
(568, 114)
>>> out = span_corrupt([np.arange(3, 3 + raw)], vocab_size=32100, rng=np.random.default_rng(0))
>>> len(out.inputs[0]), len(out.targets[0])
(512, 114)
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from mixlab.errors import DataError
from mixlab.text.ragged import Ragged

NOISE_DENSITY = 0.15
MEAN_NOISE_SPAN_LENGTH = 3.0
NUM_SENTINELS = 100


def noise_counts(lengths: np.ndarray, noise_density: float = NOISE_DENSITY,
                 mean_noise_span_length: float = MEAN_NOISE_SPAN_LENGTH, *,
                 t5_compatible: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``(num_noise, num_spans)`` for each sequence length, rounding half to even.

    Default: float64 (T5's ``random_spans_helper``). ``t5_compatible``: float32, and no noise in a
    1-token sequence (``(0, 1)``: its one kept span is sentinel 0 in the targets), as T5's
    ``random_spans_noise_mask`` (see the module docstring).

    >>> [c.tolist() for c in noise_counts([1, 190, 568])]
    [[1, 28, 85], [1, 9, 28]]
    >>> [c.tolist() for c in noise_counts([1, 190], t5_compatible=True)]
    [[0, 29], [1, 10]]
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    if t5_compatible:  # float32 products and quotients, rounded in float32, as TensorFlow does in T5
        padded = np.maximum(lengths, 2)
        num_noise = np.round(padded.astype(np.float32) * np.float32(noise_density)).astype(np.int64)
        num_noise = np.clip(num_noise, 1, padded - 1)
        num_spans = np.round(num_noise.astype(np.float32) / np.float32(mean_noise_span_length)).astype(np.int64)
    else:
        num_noise = np.clip(np.round(lengths * noise_density).astype(np.int64), 1, np.maximum(lengths - 1, 1))
        num_spans = np.round(num_noise / mean_noise_span_length).astype(np.int64)
    limit = np.maximum(np.minimum(num_noise, lengths - num_noise), 1)
    num_spans = np.clip(num_spans, 1, limit)
    if t5_compatible:
        num_noise = np.where(lengths == 1, 0, num_noise)
    return num_noise, num_spans


def lengths_after_corruption(raw_length: int, noise_density: float = NOISE_DENSITY,
                             mean_noise_span_length: float = MEAN_NOISE_SPAN_LENGTH, *,
                             t5_compatible: bool = False) -> tuple[int, int]:
    """``(inputs, targets)`` lengths, EOS included, after corrupting ``raw_length`` raw tokens.

    The inverse direction of :func:`corruption_lengths` (which goes from an input length to a raw one).

    >>> lengths_after_corruption(568), lengths_after_corruption(1, t5_compatible=True)
    ((512, 114), (2, 2))
    """
    inputs, targets = _corrupted_lengths(np.array([raw_length]), noise_density, mean_noise_span_length,
                                         t5_compatible)
    return int(inputs[0]), int(targets[0])


def corrupted_lengths(length: int, noise_density: float = NOISE_DENSITY,
                      mean_noise_span_length: float = MEAN_NOISE_SPAN_LENGTH) -> tuple[int, int]:
    """Deprecated name of :func:`lengths_after_corruption` (too close to :func:`corruption_lengths`)."""
    warnings.warn("corrupted_lengths is renamed lengths_after_corruption", DeprecationWarning, stacklevel=2)
    return lengths_after_corruption(length, noise_density, mean_noise_span_length)


def _corrupted_lengths(raw: np.ndarray, noise_density: float, mean_noise_span_length: float,
                       t5_compatible: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """:func:`lengths_after_corruption` for every raw length in ``raw``."""
    num_noise, num_spans = noise_counts(raw, noise_density, mean_noise_span_length, t5_compatible=t5_compatible)
    return _lengths(raw, num_noise, num_spans)


def _lengths(raw: np.ndarray, num_noise: np.ndarray, num_spans: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inputs: kept tokens, a sentinel per noise span (none without noise), EOS; targets: noise tokens, a
    sentinel per span, EOS."""
    return raw - num_noise + np.where(num_noise > 0, num_spans, 0) + 1, num_noise + num_spans + 1


def corruption_lengths(input_length: int, noise_density: float = NOISE_DENSITY,
                       mean_noise_span_length: float = MEAN_NOISE_SPAN_LENGTH) -> tuple[int, int]:
    """``(raw_length, target_length)``: the largest raw length whose corrupted inputs fit ``input_length``.

    As T5's ``random_spans_helper``, including its adjustment at ``noise_density == 0.5``: when the
    targets come out longer than the inputs, one raw token less (so that 512 gives 766 raw tokens and
    512 targets, not 767 and 513). Differences from T5's helper, which uses neither the clipping of
    its own mask nor a recount: mixlab returns the target length the corruption really produces
    (at density 0.5, T5 subtracts 1 from the targets without recounting, e.g. 11 -> (14, 11) where
    14 raw tokens give 10 targets; mixlab says (14, 10)); at tiny input lengths (below about
    ``(mean_noise_span_length + 1) / (2 * noise_density)``, 13 at the defaults) mixlab counts at least one
    noise token and span as the mask does (T5's helper says (1, 1) for 2 input tokens, though its
    mask makes 2 targets); and where T5 counts more noise spans than kept tokens (density above 0.5
    with short spans, e.g. 0.6 at mean 1 or 0.8 at mean 3), T5's mask fails and mixlab's lengths
    follow its cap on spans.

    >>> corruption_lengths(512), corruption_lengths(128), corruption_lengths(512, noise_density=0.5)
    ((568, 114), (141, 29), (766, 512))
    """
    if input_length < 2:
        raise ValueError(f"input_length={input_length} leaves no room for a sentinel and EOS; fix: use >= 2")
    raw = max(1, longest_fitting_raw(input_length, None, noise_density, mean_noise_span_length))
    inputs, targets = lengths_after_corruption(raw, noise_density, mean_noise_span_length)
    if noise_density == 0.5 and targets > inputs and raw > 1:  # T5's adjustment: targets no longer than inputs
        raw -= 1
        targets = lengths_after_corruption(raw, noise_density, mean_noise_span_length)[1]
    return raw, targets


def longest_fitting_raw(input_length: int, target_length: int | None, noise_density: float = NOISE_DENSITY,
                        mean_noise_span_length: float = MEAN_NOISE_SPAN_LENGTH, *, t5_compatible: bool = False) -> int:
    """The largest ``r`` such that every raw length ``1 .. r`` corrupts into at most ``input_length`` inputs
    (and ``target_length`` targets, unless ``None``); 0 if none does. Checks lengths a window at a time."""
    start, size = 1, 1024
    while True:
        inputs, targets = _corrupted_lengths(np.arange(start, start + size), noise_density, mean_noise_span_length,
                                             t5_compatible)
        fits = inputs <= input_length
        if target_length is not None:
            fits &= targets <= target_length
        misfit = np.flatnonzero(~fits)
        if misfit.size:
            return int(start + misfit[0] - 1)
        start, size = start + size, 2 * size


def _random_partition(num_items: np.ndarray, num_parts: np.ndarray, uniform: np.ndarray) -> np.ndarray:
    """``[B, max(num_parts)]`` part sizes: row b splits ``num_items[b]`` into ``num_parts[b]`` positive parts.

    Uniform over compositions: a uniformly random subset of ``num_parts - 1`` of the cut points
    ``1 .. num_items - 1``, drawn with Floyd's algorithm for all rows at once (one vector step per
    part, never per token) from ``uniform`` (``[B, >= max(num_parts) - 1]`` draws in [0, 1)).
    Parts past ``num_parts[b]`` are 0; ``num_items == 0`` gives one empty part.
    """
    batch = len(num_items)
    num_cuts, num_points = num_parts - 1, num_items - 1
    width = int(num_cuts.max(initial=0))
    if width:
        # Floyd, step i for every row at once: j runs over the last num_cuts points, t is uniform in 1..j,
        # and j is taken instead when t already is; a row past its last cut marks point 0 (never a cut)
        step = np.arange(width)
        active = step < num_cuts[:, None]
        j = np.where(active, (num_points - num_cuts)[:, None] + step + 1, 0)
        t = np.where(active, 1 + (uniform[:, :width] * j).astype(np.intp), 0)
        stride = int(num_points.max()) + 2
        taken = np.zeros(batch * stride, dtype=bool)  # row b's point p at b * stride + p
        base = (np.arange(batch) * stride)[:, None]
        t, j = (t + base).T.copy(), (j + base).T.copy()  # step-major: each step reads contiguous memory
        cuts = np.empty((width, batch), dtype=np.intp)
        for i in range(width):  # one gather and one scatter per step, never per token
            cuts[i] = np.where(taken[t[i]], j[i], t[i])
            taken[cuts[i]] = True
        cuts = np.where(active, cuts.T - base, num_items[:, None])
        cuts.sort(axis=1)
    else:
        cuts = np.zeros((batch, 0), dtype=np.int64)
    bounds = np.concatenate([np.zeros((batch, 1), np.int64), cuts, num_items[:, None]], axis=1)
    return np.diff(bounds, axis=1)


_KEPT, _NOISE, _EOS = 0, 1, 2


class _Draws(NamedTuple):
    """Every random number one batch's corruption uses, drawn up front so that rows can be corrupted in
    chunks with the same result: cut-point uniforms for the noise and the kept parts, and the coin."""

    noise: np.ndarray
    kept: np.ndarray
    noise_first: np.ndarray


def _counts_and_draws(lengths: np.ndarray, rng: np.random.Generator, noise_density: float,
                      mean_noise_span_length: float, t5_compatible: bool,
                      num_sentinels: int) -> tuple[np.ndarray, np.ndarray, _Draws]:
    """``(num_noise, num_spans, draws)`` per row, after checking that every row can be corrupted."""
    if lengths.size and lengths.min() < 1:
        raise DataError(f"span corruption: row {int(np.argmin(lengths))} is empty; fix: drop empty sequences first")
    num_noise, num_spans = noise_counts(lengths, noise_density, mean_noise_span_length, t5_compatible=t5_compatible)
    if num_spans.size and num_spans.max() > num_sentinels:
        row = int(np.argmax(num_spans))
        raise DataError(
            f"span corruption: row {row} ({int(lengths[row])} tokens) needs {int(num_spans[row])} noise spans but "
            f"only {num_sentinels} sentinels exist; fix: cut sequences shorter (a smaller input_length) "
            "or raise mean_noise_span_length"
        )
    batch, width = len(lengths), int(num_spans.max(initial=1)) - 1
    noise = rng.random((batch, width)) if width else np.zeros((batch, 0))
    kept = rng.random((batch, width)) if width else np.zeros((batch, 0))
    noise_first = np.zeros((batch, 1), bool) if t5_compatible else rng.random((batch, 1)) < 0.5
    return num_noise, num_spans, _Draws(noise, kept, noise_first)


def _segments(lengths: np.ndarray, num_noise: np.ndarray, num_spans: np.ndarray,
              draws: _Draws) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row, the segments in order: ``(sizes, kinds, span index)``, each ``[B, 2 * max_spans + 1]``.

    Kinds are kept / noise alternating (see the module docstring), then one EOS segment of size 1.
    """
    batch = len(lengths)
    noise_parts = _random_partition(num_noise, num_spans, draws.noise)
    kept_parts = _random_partition(lengths - num_noise, num_spans, draws.kept)
    noise_first = draws.noise_first
    first = np.where(noise_first, noise_parts, kept_parts)
    second = np.where(noise_first, kept_parts, noise_parts)
    sizes = np.concatenate([np.stack([first, second], axis=2).reshape(batch, -1), np.ones((batch, 1), np.int64)], 1)
    column = np.arange(sizes.shape[1])
    kinds = ((column % 2 == 1) ^ noise_first).astype(np.int8)
    kinds[:, -1] = _EOS
    return sizes, kinds, np.broadcast_to(column // 2, sizes.shape)


def noise_mask(lengths: Sequence[int] | np.ndarray, rng: np.random.Generator, *,
               noise_density: float = NOISE_DENSITY, mean_noise_span_length: float = MEAN_NOISE_SPAN_LENGTH,
               t5_compatible: bool = False, num_sentinels: int = NUM_SENTINELS) -> tuple[np.ndarray, np.ndarray]:
    """``(is_noise, span_index)``, each ``[B, max(lengths)]``: the mask ``span_corrupt`` would draw, dense.

    Positions past a row's length are False / 0. Same random draws as ``span_corrupt`` with the same rng.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    num_noise, num_spans, draws = _counts_and_draws(lengths, rng, noise_density, mean_noise_span_length,
                                                    t5_compatible, num_sentinels)
    sizes, kinds, span = _segments(lengths, num_noise, num_spans, draws)
    flat_kind = np.repeat(kinds.ravel(), sizes.ravel())
    flat_span = np.repeat(span.ravel(), sizes.ravel())
    with_eos = Ragged(flat_kind, lengths + 1)
    width = int(lengths.max(initial=0))
    is_noise = with_eos.padded(width, pad=_KEPT) == _NOISE
    return is_noise, np.where(is_noise, Ragged(flat_span, lengths + 1).padded(width), 0)


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
    Works on the flat concatenation of the rows (each with EOS appended): a few numpy passes in all.
    """
    rows = tokens if isinstance(tokens, Ragged) else Ragged.from_rows(tokens)
    lengths = rows.lengths
    num_noise, num_spans, draws = _counts_and_draws(lengths, rng, noise_density, mean_noise_span_length,
                                                    t5_compatible, num_sentinels)
    inputs = Ragged.empty(_lengths(lengths, num_noise, num_spans)[0])
    targets = Ragged.empty(num_noise + num_spans + 1)
    for a in range(0, len(lengths), _ROWS_AT_A_TIME):
        b = min(a + _ROWS_AT_A_TIME, len(lengths))
        sizes, kinds, span = _segments(lengths[a:b], num_noise[a:b], num_spans[a:b],
                                       _Draws(*(d[a:b] for d in draws)))
        start = rows.offsets[a:b, None] + np.cumsum(sizes, axis=1) - sizes  # segment starts in the tokens
        noise, eos = kinds == _NOISE, kinds == _EOS
        sentinel = vocab_size - 1 - span
        has_tokens = (sizes > 0).astype(np.int64)
        # T5 marks the one kept span of a sequence without noise (t5_compatible, 1 token) in its targets
        target_sentinel = np.maximum(has_tokens, (num_noise[a:b, None] == 0) & (span < num_spans[a:b, None]))
        # inputs: a kept segment as is, a noise segment as its sentinel, then EOS
        _gather(rows.values, start, np.where(noise, has_tokens, sizes), noise | eos, np.where(eos, eos_id, sentinel),
                inputs.values[inputs.offsets[a]:inputs.offsets[b]])
        # targets: per segment two pieces, (sentinel, noise tokens) for noise, (-, EOS) for the EOS segment
        _gather(rows.values, np.stack([start, start], axis=2),
                np.stack([np.where(noise, target_sentinel, 0), np.where(noise | eos, sizes, 0)], axis=2),
                np.stack([np.ones_like(eos), eos], axis=2),
                np.stack([sentinel, np.full_like(sentinel, eos_id)], axis=2),
                targets.values[targets.offsets[a]:targets.offsets[b]])
    return Corrupted(inputs, targets)


# Rows corrupted at a time: every temporary is about a MiB at most and is reused by the allocator; whole
# batches at once made fresh arrays of several MiB per step, whose page faults were a third of the time.
_ROWS_AT_A_TIME = 512


def _gather(values: np.ndarray, piece_start: np.ndarray, piece_length: np.ndarray, special: np.ndarray,
            special_value: np.ndarray, out: np.ndarray) -> None:
    """Write into ``out`` the concatenation over pieces i of ``values[piece_start[i]:+piece_length[i]]``,
    where a ``special`` piece (length 0 or 1) holds ``special_value[i]`` instead (a sentinel or EOS)."""
    special, length = special.ravel(), piece_length.ravel()
    first = np.cumsum(length) - length  # where each piece starts in ``out``
    dtype = np.int32 if len(values) < 2**31 - 1 else np.int64
    index = np.repeat((np.where(special, 0, piece_start.ravel()) - first).astype(dtype), length)
    index += np.arange(len(index), dtype=dtype)
    np.take(values, index, out=out)
    at = special & (length > 0)
    out[first[at]] = special_value.ravel()[at]


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
