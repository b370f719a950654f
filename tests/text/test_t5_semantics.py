"""mixlab's span corruption against t5 0.9.4's own arithmetic, written out here (no TensorFlow).

``t5_helper`` is ``t5.data.preprocessors.random_spans_helper`` (Python floats, i.e. float64);
``t5_mask_counts`` is the counting part of ``random_spans_noise_mask`` (``tf.float32`` arithmetic,
``length`` padded to 2, the mask cut back to the original length).
"""

from __future__ import annotations

import numpy as np
import pytest

from mixlab.text import BatchConfig
from mixlab.text.span_corruption import (
    corruption_lengths,
    lengths_after_corruption,
    noise_counts,
    noise_mask,
    reconstruct,
    span_corrupt,
)


def t5_helper(inputs_length: int, noise_density: float, mean_noise_span_length: float) -> tuple[int, int]:
    """t5.data.preprocessors.random_spans_helper with one sentinel per span on each side."""
    def lengths(tokens_length: int) -> tuple[int, int]:
        num_noise_tokens = int(round(tokens_length * noise_density))  # noqa: RUF046 - as t5 writes it
        num_nonnoise_tokens = tokens_length - num_noise_tokens
        num_noise_spans = int(round(num_noise_tokens / mean_noise_span_length))  # noqa: RUF046
        return num_nonnoise_tokens + num_noise_spans + 1, num_noise_tokens + num_noise_spans + 1

    tokens_length = inputs_length - 1
    while lengths(tokens_length + 1)[0] <= inputs_length:
        tokens_length += 1
    inputs_length, targets_length = lengths(tokens_length)
    if noise_density == 0.5 and targets_length > inputs_length:  # t5's "minor hack"
        tokens_length -= 1
        targets_length -= 1
    return tokens_length, targets_length


def t5_mask_counts(length: int, noise_density: float, mean_noise_span_length: float) -> tuple[int, int]:
    """(noise tokens in the mask, noise spans in the mask) of random_spans_noise_mask(length)."""
    padded = max(length, 2)
    num_noise = int(np.round(np.float32(padded) * np.float32(noise_density)))
    num_noise = min(max(num_noise, 1), padded - 1)
    num_spans = max(int(np.round(np.float32(num_noise) / np.float32(mean_noise_span_length))), 1)
    # the padded mask is [kept, noise, kept, noise, ...] and ends in noise; cutting a 2-token mask to 1
    # token drops its only noise span
    return (0, 0) if length == 1 else (num_noise, num_spans)


def test_the_issue_numbers():
    assert t5_helper(512, 0.5, 3.0) == (766, 512) == corruption_lengths(512, noise_density=0.5)
    assert lengths_after_corruption(767, noise_density=0.5) == (512, 513)  # what mixlab used to return
    assert t5_helper(512, 0.15, 3.0) == (568, 114) == corruption_lengths(512)
    assert t5_mask_counts(190, 0.15, 3.0) == (29, 10)  # 190 * 0.15 is 28.5000011 in float32
    assert round(190 * 0.15) == 28
    assert [c.tolist() for c in noise_counts([190])] == [[28], [9]]
    assert [c.tolist() for c in noise_counts([190], t5_compatible=True)] == [[29], [10]]


@pytest.mark.parametrize("mean", [2.0, 3.0, 5.0])
@pytest.mark.parametrize("density", [0.05, 0.15, 0.25, 0.3, 0.45, 0.5])
def test_corruption_lengths_is_t5s_random_spans_helper(density, mean):
    tiny = (mean + 1) / (2 * density)  # below this t5's helper forgets its mask's clipping (see the docstring)
    checked = 0
    for input_length in range(max(int(tiny) + 1, 3), 1200):
        t5_raw, t5_targets = t5_helper(input_length, density, mean)
        raw, targets = corruption_lengths(input_length, density, mean)
        assert raw == t5_raw, input_length
        assert targets == lengths_after_corruption(raw, density, mean)[1]  # the real count
        if density != 0.5:
            assert targets == t5_targets, input_length
        else:  # t5 subtracts 1 without recounting; mixlab recounts, which can only be shorter
            assert targets in (t5_targets, t5_targets - 1), input_length
        checked += 1
    assert checked > 1000


def test_where_t5s_helper_misreports_its_own_targets():
    # density 0.5: t5 says 11 targets for 14 raw tokens; 14 tokens give 7 noise in 2 spans: 10 targets
    assert t5_helper(11, 0.5, 3.0) == (14, 11) and corruption_lengths(11, 0.5) == (14, 10)
    # tiny inputs: t5's helper counts no noise, its mask makes one noise token and span
    assert t5_helper(2, 0.15, 3.0) == (1, 1) and corruption_lengths(2) == (1, 3)


@pytest.mark.parametrize(("density", "mean"), [(0.15, 3.0), (0.3, 3.0), (0.1, 2.5), (0.5, 3.0), (0.15, 3.3)])
def test_t5_compatible_counts_are_t5s_float32_counts(density, mean):
    lengths = np.arange(1, 3001)
    num_noise, num_spans = noise_counts(lengths, density, mean, t5_compatible=True)
    expected = np.array([t5_mask_counts(int(n), density, mean) for n in lengths])
    assert num_noise.tolist() == expected[:, 0].tolist()
    # mixlab keeps one span for the kept token of a 1-token sequence (sentinel 0 in its targets)
    assert num_spans[1:].tolist() == expected[1:, 1].tolist() and num_spans[0] == 1


def test_float32_counting_differs_at_known_lengths():
    lengths = np.arange(2, 2001)
    default, t5 = noise_counts(lengths)[0], noise_counts(lengths, t5_compatible=True)[0]
    assert lengths[default != t5].tolist()[:6] == [190, 350, 390, 670, 710, 750]
    assert ((t5 - default)[default != t5] == 1).all()  # T5 masks one token more, never fewer
    is_noise, _ = noise_mask(np.full(50, 190), np.random.default_rng(0), t5_compatible=True)
    assert is_noise.sum(axis=1).tolist() == [29] * 50 and is_noise[:, -1].all()
    is_noise, _ = noise_mask(np.full(50, 190), np.random.default_rng(0))
    assert is_noise.sum(axis=1).tolist() == [28] * 50


def test_one_token_sequences():
    t5 = span_corrupt([np.array([7])], vocab_size=1000, rng=np.random.default_rng(0), t5_compatible=True)
    assert t5.inputs[0].tolist() == [7, 1] and t5.targets[0].tolist() == [999, 1]  # as t5: nothing masked
    assert reconstruct(t5.inputs[0], t5.targets[0], vocab_size=1000).tolist() == [7]
    default = span_corrupt([np.array([7])], vocab_size=1000, rng=np.random.default_rng(0))
    assert default.inputs[0].tolist() == [999, 1] and default.targets[0].tolist() == [999, 7, 1]
    assert lengths_after_corruption(1, t5_compatible=True) == (2, 2) and lengths_after_corruption(1) == (2, 3)
    assert not noise_mask([1, 3], np.random.default_rng(0), t5_compatible=True)[0][0].any()


def test_mixed_batch_with_one_token_rows_under_t5():
    rows = [np.arange(3, 3 + n) for n in (1, 190, 1, 5, 1)]
    out = span_corrupt(rows, vocab_size=1000, rng=np.random.default_rng(3), t5_compatible=True)
    assert out.inputs.lengths.tolist() == [2, 190 - 29 + 10 + 1, 2, 5 - 1 + 1 + 1, 2]
    assert out.targets.lengths.tolist() == [2, 29 + 10 + 1, 2, 1 + 1 + 1, 2]
    for i, row in enumerate(rows):
        assert reconstruct(out.inputs[i], out.targets[i], vocab_size=1000).tolist() == row.tolist()


def test_t5_batches_fit_where_t5s_helper_and_mask_disagree():
    # at 172 input tokens t5's helper picks 190 raw tokens and 38 targets, but its float32 mask makes 40
    assert t5_helper(172, 0.15, 3.0) == (190, 38)
    raw = 190
    assert lengths_after_corruption(raw, t5_compatible=True) == (172, 40)
    config = BatchConfig(batch_size=1, input_length=172, target_length=38, t5_compatible_noise=True)
    assert config.raw_length == 189  # mixlab's pieces always fit: it counts as the corruption will
    assert BatchConfig(batch_size=1, input_length=172, target_length=38).raw_length == 190
    lengths = np.arange(1, config.raw_length + 1)
    inputs, targets = np.array([lengths_after_corruption(int(n), t5_compatible=True) for n in lengths]).T
    assert inputs.max() <= 172 and targets.max() <= 38
