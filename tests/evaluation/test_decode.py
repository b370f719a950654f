"""mixlab.evaluation.decode: greedy decoding with a key/value cache gives HF generate's tokens; beam width 1
is greedy; generate() keeps the input order; inputs are cut with their EOS kept."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mixlab.evaluation import decode
from mixlab.evaluation.loading import load_model
from mixlab.train.model import build_model

SHAPE = {"d_model": 32, "d_ff": 64, "num_heads": 2, "d_kv": 16, "num_layers": 2, "num_decoder_layers": 2}


def hf_greedy(model, input_ids, mask, max_length):
    with torch.inference_mode():
        out = model.generate(input_ids=input_ids, attention_mask=mask, max_new_tokens=max_length, do_sample=False,
                             num_beams=1)
    return [decode._cut(row, decode.EOS_ID) for row in out[:, 1:].numpy()]


@pytest.fixture(scope="module")
def random_model():
    """A random tiny T5 whose EOS logit is raised so that rows stop at different steps."""
    model = build_model(SHAPE, 48, seed=3).eval()
    with torch.no_grad():
        model.lm_head.weight[decode.EOS_ID] *= 4.0
    return model


def random_rows(seed, num_rows=12, vocab=48):
    rng = np.random.default_rng(seed)
    return [np.append(rng.integers(3, vocab, rng.integers(2, 20)), 1) for _ in range(num_rows)]


def test_greedy_equals_hf_generate_on_a_random_model(random_model):
    input_ids, mask = decode.pad_rows(random_rows(0))
    ours = decode.greedy_decode(random_model, input_ids, mask, max_length=10)
    theirs = hf_greedy(random_model, input_ids, mask, 10)
    assert ours == theirs
    lengths = sorted(len(row) for row in ours)
    assert lengths[0] < 10 and lengths[-1] == 10  # some rows left the batch early, some ran to max_length
    assert all(decode.EOS_ID not in row for row in ours)


def test_greedy_equals_hf_generate_on_a_trained_run(wordnet_run):
    loaded = load_model(wordnet_run)
    assert loaded.step == 40 and loaded.checkpoint.name == "step_0000040"
    import mixlab

    task = mixlab.load_registry().get("wordnet/pos")
    rows = task.load("validation")
    texts = [task.format(rows[i])["inputs"] for i in range(24)]
    input_ids, mask = decode.pad_rows(decode.encode_inputs(loaded.tokenizer, texts, 64))
    ours = decode.greedy_decode(loaded.model, input_ids, mask, max_length=16)
    assert ours == hf_greedy(loaded.model, input_ids, mask, 16)


def test_beam_width_one_is_greedy_and_wider_beams_are_deterministic(random_model):
    input_ids, mask = decode.pad_rows(random_rows(1, num_rows=6))
    greedy = decode.greedy_decode(random_model, input_ids, mask, max_length=8)
    assert decode.beam_decode(random_model, input_ids, mask, max_length=8, num_beams=1) == greedy
    wide = decode.beam_decode(random_model, input_ids, mask, max_length=8, num_beams=3)
    assert wide == decode.beam_decode(random_model, input_ids, mask, max_length=8, num_beams=3)
    assert len(wide) == 6 and all(len(row) <= 8 and decode.EOS_ID not in row for row in wide)
    with pytest.raises(ValueError, match="num_beams must be >= 1"):
        decode.beam_decode(random_model, input_ids, mask, max_length=8, num_beams=0)


def test_generate_sorts_by_length_but_returns_the_input_order(random_model):
    class Ids:  # a tokenizer over space-separated ids
        eos_id = decode.EOS_ID

        def encode_batch(self, texts):
            return [np.array([int(t) for t in text.split()], dtype=np.int32) for text in texts]

        def decode(self, ids):
            return " ".join(map(str, ids))

    rows = random_rows(2, num_rows=9)
    texts = [" ".join(map(str, row[:-1])) for row in rows]
    batched = decode.generate(random_model, Ids(), texts, max_length=6, batch_size=4)
    one_by_one = [" ".join(map(str, decode.greedy_decode(random_model, *decode.pad_rows([row]), max_length=6)[0]))
                  for row in rows]
    assert batched == one_by_one


def test_encode_inputs_cuts_long_inputs_and_keeps_eos():
    class Ids:
        eos_id = 1

        def encode_batch(self, texts):
            return [np.arange(10, 10 + len(t), dtype=np.int32) for t in texts]

    rows = decode.encode_inputs(Ids(), ["abc", "abcdefgh"], max_input_length=5)
    assert [r.tolist() for r in rows] == [[10, 11, 12, 1], [10, 11, 12, 13, 1]]
    ids, mask = decode.pad_rows(rows)
    assert ids.tolist() == [[10, 11, 12, 1, 0], [10, 11, 12, 13, 1]] and mask.sum().item() == 9
