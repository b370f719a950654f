"""Packed attention, the T5.1.1 model shape and the loss."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mixlab.train.loss import compute_loss, muppet_weights, token_cross_entropy
from mixlab.train.model import PRESETS, PackedT5, build_model, count_parameters, segment_masks
from tests.train.helpers import pack_row, stack_rows


@pytest.fixture(scope="module")
def tiny():
    return PackedT5(build_model(PRESETS["tiny"], 64, seed=0)).eval()


def _forward(model, batch):
    t = {k: torch.as_tensor(v) for k, v in batch.items() if k != "task_names"}
    logits = model(t["input_ids"], t["encoder_segment_ids"], t["decoder_input_ids"], t["decoder_segment_ids"])
    return logits, t


def test_packed_row_equals_examples_run_alone(tiny):
    rng = np.random.default_rng(0)
    sizes = [(5, 3), (7, 4), (3, 2)]
    examples = [(rng.integers(3, 60, n), rng.integers(3, 60, m), k) for k, (n, m) in enumerate(sizes)]
    packed = stack_rows([pack_row(examples, 20, 12)], ["a", "b", "c"])
    alone = stack_rows([pack_row([ex], 20, 12) for ex in examples], ["a", "b", "c"])
    with torch.no_grad():
        ce_packed, valid_packed = token_cross_entropy(*_forward(tiny, packed)[:1], torch.as_tensor(packed["labels"]))
        ce_alone, valid_alone = token_cross_entropy(*_forward(tiny, alone)[:1], torch.as_tensor(alone["labels"]))
    got = ce_packed[valid_packed]
    want = ce_alone[valid_alone]
    assert got.shape == want.shape == (9,)
    assert (got - want).abs().max().item() < 1e-5
    assert got.min().item() > 0


def test_masks_block_other_segments_and_future():
    enc = torch.tensor([[1, 1, 2, 0]])
    dec = torch.tensor([[1, 2, 2]])
    e, d, c = (m[0, 0] == 0 for m in segment_masks(enc, dec))
    assert e.tolist() == [[True, True, False, False], [True, True, False, False],
                          [False, False, True, False], [False, False, False, False]]
    assert d.tolist() == [[True, False, False], [False, True, False], [False, True, True]]
    assert c.tolist() == [[True, True, False, False], [False, False, True, False], [False, False, True, False]]


def test_t511_shape_untied_head_shared_embeddings():
    model = build_model(PRESETS["tiny"], 100, seed=0)
    assert model.lm_head.weight.data_ptr() != model.shared.weight.data_ptr()
    assert model.encoder.embed_tokens is model.shared and model.decoder.embed_tokens is model.shared
    assert model.config.is_gated_act and model.config.dense_act_fn == "gelu_new"
    assert not model.config.scale_decoder_outputs and model.config.dropout_rate == 0.0
    # tiny: 2 embeddings (12,800) + encoder (82,368) + decoder with cross-attention (115,264)
    assert count_parameters(model) == 210_432
    again = build_model(PRESETS["tiny"], 100, seed=0)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values(), strict=True))


def test_base_preset_matches_t511_base_parameter_count():
    with torch.device("meta"):
        model = build_model(PRESETS["base"], 32128, seed=0)
    assert count_parameters(model) == 247_577_856  # t5-v1_1-base


def test_loss_per_task_sums_and_muppet():
    logits = torch.zeros(1, 4, 8)  # uniform: every token costs log 8
    labels = torch.tensor([[3, 4, 5, -100]])
    task_ids = torch.tensor([[0, 1, 1, -1]])
    out = compute_loss(logits, labels, task_ids, 3)
    assert out.loss.item() == pytest.approx(math.log(8))
    assert out.task_loss_sums.tolist() == pytest.approx([math.log(8), 2 * math.log(8), 0.0])
    assert out.task_token_counts.tolist() == [1.0, 2.0, 0.0]
    peaked = logits.clone()
    peaked[0, 1, 4] = 5.0  # argmax equals the label at one real position only
    assert compute_loss(peaked, labels, task_ids, 3).token_correct.item() == 1.0
    weights = torch.tensor(muppet_weights(["a", "b", "c"], {"a": 2, "b": 3}))
    scaled = compute_loss(logits, labels, task_ids, 3, task_weights=weights)
    assert scaled.loss.item() == pytest.approx(math.log(8) * (1 / math.log(2) + 2 / math.log(3)) / 3)
    z = compute_loss(logits, labels, task_ids, 3, z_loss=1e-4)
    assert z.loss.item() == pytest.approx(math.log(8) + 1e-4 * math.log(8) ** 2)
