from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mixlab
from mixlab.errors import DataError
from mixlab.text.span_corruption import (
    corruption_lengths,
    lengths_after_corruption,
    noise_counts,
    noise_mask,
    reconstruct,
    span_corrupt,
)

T5_VOCAB = 32100


def test_public_name_resolves_to_the_module():
    assert mixlab.span_corruption.span_corrupt is span_corrupt


@pytest.mark.parametrize(("input_length", "raw", "targets"), [(512, 568, 114), (128, 141, 29)])
def test_corruption_lengths_match_t5(input_length, raw, targets):
    assert corruption_lengths(input_length) == (raw, targets)
    assert lengths_after_corruption(raw) == (input_length, targets)
    assert lengths_after_corruption(raw + 1)[0] > input_length


def test_full_length_example_fills_the_budget_exactly():
    out = span_corrupt([np.arange(3, 3 + 568)] * 8, vocab_size=T5_VOCAB, rng=np.random.default_rng(0))
    assert out.inputs.lengths.tolist() == [512] * 8 and out.targets.lengths.tolist() == [114] * 8


def test_golden_seeded_output():
    rows = [np.arange(3, 43), np.arange(3, 10)]
    out = span_corrupt(rows, vocab_size=1000, rng=np.random.default_rng(1234))
    # noise first in row 0 (mixlab's coin), so it ends with kept tokens; spans of 5 and 1 tokens
    assert out.inputs[0].tolist() == [999, *range(8, 39), 998, 40, 41, 42, 1]
    assert out.targets[0].tolist() == [999, 3, 4, 5, 6, 7, 998, 39, 1]
    assert out.inputs[1].tolist() == [999, 4, 5, 6, 7, 8, 9, 1] and out.targets[1].tolist() == [999, 3, 1]
    t5 = span_corrupt(rows, vocab_size=1000, rng=np.random.default_rng(1234), t5_compatible=True)
    assert t5.inputs[0].tolist() == [*range(3, 34), 999, 39, 40, 41, 998, 1]
    assert t5.targets[0].tolist() == [999, 34, 35, 36, 37, 38, 998, 42, 1]
    assert t5.inputs[1].tolist() == [3, 4, 5, 6, 7, 8, 999, 1] and t5.targets[1].tolist() == [999, 9, 1]


def test_density_and_mean_span_length_over_many_samples():
    is_noise, _ = noise_mask(np.full(4000, 568), np.random.default_rng(7))
    assert is_noise.mean() == pytest.approx(85 / 568)  # exact count per row: round(568 * 0.15) = 85
    starts = is_noise & ~np.concatenate([np.zeros((4000, 1), bool), is_noise[:, :-1]], axis=1)
    assert starts.sum(axis=1).tolist() == [28] * 4000  # round(85 / 3) spans in every row
    assert is_noise.sum() / starts.sum() == pytest.approx(85 / 28)
    # variable lengths: density stays near 0.15
    lengths = np.random.default_rng(1).integers(20, 568, size=3000)
    is_noise, _ = noise_mask(lengths, np.random.default_rng(2))
    assert is_noise.sum() / lengths.sum() == pytest.approx(0.15, abs=0.005)


def test_span_lengths_are_spread_not_fixed():
    is_noise, span = noise_mask(np.full(2000, 568), np.random.default_rng(3))
    flat = (np.arange(2000)[:, None] * 100 + span)[is_noise]
    lengths = np.bincount(flat)[np.bincount(flat) > 0]
    assert lengths.min() == 1 and lengths.max() >= 10 and lengths.mean() == pytest.approx(85 / 28)


def test_sentinels_descend_from_the_top_of_a_t5_vocabulary():
    out = span_corrupt([np.arange(3, 3 + 568)], vocab_size=T5_VOCAB, rng=np.random.default_rng(0))
    sentinels = out.targets[0][out.targets[0] >= T5_VOCAB - 100]
    assert sentinels.tolist() == list(range(32099, 32099 - 28, -1))
    assert out.inputs[0][out.inputs[0] >= T5_VOCAB - 100].tolist() == sentinels.tolist()


def test_end_quirk_t5_always_ends_in_noise_mixlab_half_the_time():
    lengths = np.full(4000, 141)
    t5_mask, _ = noise_mask(lengths, np.random.default_rng(5), t5_compatible=True)
    assert t5_mask[:, -1].all() and not t5_mask[:, 0].any()
    mask, _ = noise_mask(lengths, np.random.default_rng(5))
    assert mask[:, -1].mean() == pytest.approx(0.5, abs=0.03)
    assert mask[:, 0].mean() == pytest.approx(0.5, abs=0.03)
    assert (mask[:, 0] != mask[:, -1]).all()  # equal numbers of noise and kept spans: one end each
    assert mask.sum(axis=1).tolist() == t5_mask.sum(axis=1).tolist()  # same counts either way


@pytest.mark.parametrize("length", [1, 2, 3, 4, 7])
def test_short_inputs(length):
    out = span_corrupt([np.arange(3, 3 + length)], vocab_size=500, rng=np.random.default_rng(0))
    inputs, targets = out.inputs[0], out.targets[0]
    assert (targets >= 400).sum() >= 1 and len(targets) >= 3  # at least one noise token and one sentinel
    assert reconstruct(inputs, targets, vocab_size=500).tolist() == list(range(3, 3 + length))
    assert noise_counts(np.array([1, 2, 3]))[0].tolist() == [1, 1, 1]


def test_too_many_spans_is_a_clear_error():
    with pytest.raises(DataError, match=r"row 1 \(3000 tokens\) needs 150 noise spans but only 100 sentinels"):
        span_corrupt([np.arange(3, 13), np.full(3000, 5)], vocab_size=32100, rng=np.random.default_rng(0))
    with pytest.raises(DataError, match="row 0 is empty"):
        span_corrupt([np.zeros(0, np.int32)], vocab_size=100, rng=np.random.default_rng(0))


def test_same_seed_same_output_different_seed_different_output():
    rows = [np.arange(3, 200)] * 4
    first = span_corrupt(rows, vocab_size=1000, rng=np.random.default_rng(9))
    again = span_corrupt(rows, vocab_size=1000, rng=np.random.default_rng(9))
    other = span_corrupt(rows, vocab_size=1000, rng=np.random.default_rng(10))
    assert np.array_equal(first.inputs.values, again.inputs.values)
    assert not np.array_equal(first.inputs.values, other.inputs.values)


rows_strategy = st.lists(st.lists(st.integers(3, 899), min_size=1, max_size=700), min_size=1, max_size=6)


@settings(max_examples=60, deadline=None)
@given(rows=rows_strategy, seed=st.integers(0, 2**32 - 1), t5=st.booleans())
def test_properties(rows, seed, t5):
    out = span_corrupt(rows, vocab_size=1000, rng=np.random.default_rng(seed), t5_compatible=t5)
    for row, inputs, targets in zip(rows, out.inputs.to_list(), out.targets.to_list(), strict=True):
        assert reconstruct(inputs, targets, vocab_size=1000).tolist() == row
        in_budget, target_budget = lengths_after_corruption(len(row), t5_compatible=t5)
        assert len(inputs) == in_budget and len(targets) == target_budget
        in_sentinels = inputs[inputs >= 900]
        target_sentinels = targets[targets >= 900]
        if t5 and len(row) == 1:  # no noise: T5 marks the one kept span in the targets only
            assert in_sentinels.tolist() == [] and target_sentinels.tolist() == [999]
            continue
        assert in_sentinels.tolist() == target_sentinels.tolist() == list(range(999, 999 - len(in_sentinels), -1))
        assert inputs[-1] == 1 and targets[-1] == 1 and targets[0] == 999


@settings(max_examples=40, deadline=None)
@given(input_length=st.integers(4, 1200))
def test_raw_length_fits_and_is_largest(input_length):
    raw, targets = corruption_lengths(input_length)
    assert lengths_after_corruption(raw) == (lengths_after_corruption(raw)[0], targets)
    assert lengths_after_corruption(raw)[0] <= input_length < lengths_after_corruption(raw + 1)[0]
    for shorter in (1, raw // 2, raw - 1):  # shorter rows fit too (lengths grow with the row)
        if shorter >= 1:
            shorter_inputs, shorter_targets = lengths_after_corruption(shorter)
            assert shorter_inputs <= input_length and shorter_targets <= targets


def test_partition_is_uniform_over_compositions():
    from mixlab.text.span_corruption import _random_partition

    parts = _random_partition(np.full(60000, 5), np.full(60000, 3), np.random.default_rng(0).random((60000, 2)))
    assert (parts > 0).all() and (parts.sum(axis=1) == 5).all()
    counts = np.unique(parts, axis=0, return_counts=True)[1]
    assert len(counts) == 6  # C(4, 2) compositions of 5 into 3 positive parts
    assert np.abs(counts / 60000 - 1 / 6).max() < 0.01


def test_rows_in_chunks_give_the_whole_batch_result(monkeypatch):
    """Rows are corrupted a chunk at a time (small temporaries) from draws made for the whole batch:
    any chunk size gives the same output."""
    from mixlab.text import span_corruption

    lengths = np.random.default_rng(4).integers(1, 700, size=300)
    rows = [np.arange(3, 3 + n) for n in lengths]
    whole = span_corrupt(rows, vocab_size=32100, rng=np.random.default_rng(9))
    for chunk in (1, 7, 64):
        monkeypatch.setattr(span_corruption, "_ROWS_AT_A_TIME", chunk)
        chunked = span_corrupt(rows, vocab_size=32100, rng=np.random.default_rng(9))
        assert np.array_equal(chunked.inputs.values, whole.inputs.values)
        assert np.array_equal(chunked.targets.values, whole.targets.values)
    assert all(np.array_equal(reconstruct(whole.inputs[i], whole.targets[i], vocab_size=32100), rows[i])
               for i in range(len(rows)))


def test_noise_mask_matches_span_corrupt_draws():
    rows = [np.arange(3, 3 + n) for n in (50, 141, 7)]
    is_noise, _ = noise_mask([50, 141, 7], np.random.default_rng(4))
    out = span_corrupt(rows, vocab_size=1000, rng=np.random.default_rng(4))
    for row, mask, targets in zip(rows, is_noise, out.targets.to_list(), strict=True):
        assert targets[targets < 900][:-1].tolist() == row[mask[:len(row)]].tolist()


def test_corrupted_lengths_is_a_deprecated_name():
    from mixlab.text.span_corruption import corrupted_lengths

    with pytest.warns(DeprecationWarning, match="renamed lengths_after_corruption"):
        assert corrupted_lengths(568) == lengths_after_corruption(568) == (512, 114)
