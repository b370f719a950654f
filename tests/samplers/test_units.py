"""R and mixture probabilities as shares of training examples (seqio) or of documents (rmix unit="documents").

The realised shares are counted in the batches the text pipeline makes from the embedded WordNet data.
"""

from __future__ import annotations

import importlib.util
import itertools
import math
import warnings

import numpy as np
import pytest

from mixlab import CallableSource, Mixture, Task
from mixlab.errors import DataError, MixtureSpecError
from mixlab.samplers.units import (
    document_probabilities,
    example_shares,
    per_example,
    pieces_per_document,
)

needs_wordnet = pytest.mark.skipif(importlib.util.find_spec("mixlab_wordnet") is None,
                                   reason="mixlab-wordnet plugin not installed")


def test_pieces_per_document_alone_is_the_mean_of_the_ceilings():
    lengths = np.array([1, 10, 11, 25, 70])
    assert pieces_per_document(lengths, 10, concat_text=False) == (1 + 1 + 2 + 3 + 7) / 5


def test_pieces_per_document_joined_when_every_item_is_a_document():
    # probability 1: every one of the 256 items of a chunk is a 3-token document, cut together into ceil(768 / 10)
    lengths = np.array([3, 3])
    assert pieces_per_document(lengths, 10, chunk_size=256, probability=1.0) == math.ceil(256 * 3 / 10) / 256
    # a rare task almost never shares a chunk with itself: each document is cut alone
    assert pieces_per_document(lengths, 10, chunk_size=256, probability=1e-9) == 1.0


def test_document_probabilities_and_example_shares_are_inverse():
    target = {"c4": 2 / 3, "qa": 0.25, "nli": 1 / 12}
    pieces = {"c4": 7.5}
    drawn = document_probabilities(target, pieces)
    assert drawn["c4"] == pytest.approx((2 / 3 / 7.5) / (2 / 3 / 7.5 + 1 / 3))
    assert drawn["qa"] / drawn["nli"] == pytest.approx(3.0)
    assert example_shares(drawn, pieces) == pytest.approx(target, abs=1e-15)


def _task(name: str, self_supervised: bool = False, rows: int = 5) -> Task:
    data = [{"text": "word " * (40 * (i + 1)), "q": f"q{i}", "a": f"a{i}"} for i in range(rows)]
    extra = {"self_supervised": True} if self_supervised else {"formatter": lambda r: {"inputs": r["q"],
                                                                                        "targets": r["a"]}}
    return Task(name=name, family="demo", collection="demo", num_examples={"train": rows},
                source=CallableSource(fn=lambda split: data), **extra)


class WordTokenizer:
    vocab_size, eos_id = 1000, 1

    def encode_batch(self, texts):
        return [np.arange(len(t.split())) + 3 for t in texts]


def test_rmix_units_mark_the_self_supervised_leaves():
    text, qa = _task("demo/text", self_supervised=True), _task("demo/qa")
    by_examples = Mixture.rmix(text, qa, 2, name="m")
    by_documents = Mixture.rmix(text, qa, 2, unit="documents", name="m")
    assert by_examples.probabilities == by_documents.probabilities == pytest.approx({"demo/qa": 1 / 3,
                                                                                      "demo/text": 2 / 3})
    assert by_examples.per_document == frozenset() and by_documents.per_document == {"demo/text"}
    assert by_documents.description["rmix"]["unit"] == "documents"
    nested = Mixture.of([(by_documents, 1.0), (_task("demo/other"), 1.0)], name="outer")
    assert nested.per_document == {"demo/text"}  # a sub-mixture keeps its leaves' unit
    with pytest.raises(MixtureSpecError, match=r"unit must be one of 'examples', 'documents', 'tokens'"):
        Mixture.rmix(text, qa, 2, unit="chars", name="m")
    with pytest.warns(UserWarning, match="tokens_per_example does nothing with unit 'documents'"):
        Mixture.rmix(text, qa, 2, unit="documents", tokens_per_example=(1, 2), name="m")


def test_per_example_on_a_hand_sized_corpus():
    # documents of 40, 80, ..., 200 words; raw length 70 (64 / 16); without concat_text: ceil(n / 70)
    from mixlab.text import BatchConfig

    text, qa = _task("demo/text", self_supervised=True), _task("demo/qa")
    mix = Mixture.rmix(text, qa, 2, name="m")
    config = BatchConfig(batch_size=4, input_length=64, target_length=16, concat_text=False)
    measured = per_example(mix, WordTokenizer(), config, seed=3)
    pieces = (1 + 2 + 2 + 3 + 3) / 5
    sampling = measured.sampling
    assert sampling["raw_length"] == 70 and sampling["documents_measured"] == {"demo/text": 5}
    assert sampling["pieces_per_document"] == {"demo/text": pieces}
    assert sampling["mean_tokens_per_document"] == {"demo/text": 120.0}
    total = 1 / 3 + (2 / 3) / pieces
    expected = {"demo/qa": (1 / 3) / total, "demo/text": ((2 / 3) / pieces) / total}
    assert sampling["document_probabilities"] == pytest.approx(expected, abs=1e-15)
    assert measured.probabilities == mix.probabilities  # the probabilities stay the shares of examples
    manifest = measured.manifest()
    assert manifest["sampling"]["pieces_per_document"] == {"demo/text": pieces} and manifest["per_document"] == []
    assert [t["rate"] for t in manifest["tasks"]] == pytest.approx([1 / 3, 2 / 3])
    # documents: nothing to measure; a supervised-only mixture: nothing either
    assert per_example(Mixture.rmix(text, qa, 2, unit="documents", name="m"), WordTokenizer(), config).sampling is None
    assert per_example(Mixture.of([(qa, 1.0)], name="q"), WordTokenizer(), config).sampling is None
    # measuring again (another batch config) starts from the same probabilities
    again = per_example(measured, WordTokenizer(), BatchConfig(batch_size=4, input_length=512, target_length=114,
                                                                concat_text=False))
    assert again.sampling["pieces_per_document"] == {"demo/text": 1.0} and again.probabilities == mix.probabilities


class NoTokens:
    vocab_size = 1000

    def encode_batch(self, texts):
        return [np.arange(0) for _ in texts]


@pytest.mark.parametrize("concat_text", [False, True])
def test_per_example_refuses_documents_without_tokens(concat_text):
    from mixlab.text import BatchConfig

    mix = Mixture.rmix(_task("demo/text", self_supervised=True), _task("demo/qa"), 2, name="m")
    config = BatchConfig(batch_size=4, input_length=64, target_length=16, concat_text=concat_text)
    with pytest.raises(DataError, match=r"tasks \['demo/text'\]: their sampled 'train' documents have no tokens"):
        per_example(mix, NoTokens(), config)


def test_the_stream_draws_documents_with_the_sampling():
    from mixlab.text import BatchConfig

    text, qa = _task("demo/text", self_supervised=True, rows=50), _task("demo/qa", rows=50)
    mix = Mixture.rmix(text, qa, 2, name="m")
    config = BatchConfig(batch_size=4, input_length=64, target_length=16, concat_text=False)
    measured = per_example(mix, WordTokenizer(), config)
    drawn = measured.sampling["document_probabilities"]["demo/text"]
    items = list(itertools.islice(measured.stream(0), 4000))
    share = sum(item["task"] == "demo/text" for item in items) / len(items)
    assert share == pytest.approx(drawn, abs=0.03) and abs(share - 2 / 3) > 0.2
    plain = list(itertools.islice(mix.stream(0), 4000))
    assert sum(item["task"] == "demo/text" for item in plain) / 4000 == pytest.approx(2 / 3, abs=0.03)


# ---------------------------------------------------------------- the embedded WordNet data, 64 / 16 tokens
def _self_supervised_share(mixture, tokenizer, config, num_batches: int) -> tuple[float, int]:
    from mixlab.text import batches

    it = batches(mixture.stream(0), tokenizer, config, seed=0)
    text = it.task_names.index("wordnet/text")
    counts = np.zeros(len(it.task_names))
    for _ in range(num_batches):
        batch = next(it)
        starts = (batch["decoder_segment_ids"] > 0) & (batch["decoder_positions"] == 0)
        counts += np.bincount(batch["decoder_task_ids"][starts], minlength=len(counts))
    return counts[text] / counts.sum(), int(counts.sum())


@needs_wordnet
@pytest.mark.parametrize("R", [2.0, 0.5])
def test_realised_share_of_examples_is_r_over_r_plus_1(R):
    import mixlab_wordnet

    import mixlab
    from mixlab.text import BatchConfig, load_tokenizer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # this environment's deliberately broken test plugins
        registry = mixlab.load_registry()
    tokenizer = load_tokenizer(mixlab_wordnet.tokenizer_path())
    config = BatchConfig(batch_size=32, input_length=64, target_length=16, pack=True)
    mix = mixlab.resolve_mixture("wordnet-ext5", registry=registry, R=R)
    measured = per_example(mix, tokenizer, config, seed=0)
    assert measured.sampling["pieces_per_document"]["wordnet/text"] == pytest.approx(8.78, abs=0.05)
    share, num_examples = _self_supervised_share(measured, tokenizer, config, 250)
    assert num_examples > 7000
    assert share == pytest.approx(R / (R + 1), abs=0.03)  # seqio's definition, the default
    documents = mixlab.resolve_mixture({"name": "by-documents", "rmix": {
        "self_supervised": "wordnet/text", "supervised": "wordnet", "R": R, "unit": "documents"}}, registry=registry)
    assert documents.per_document == {"wordnet/text"}
    assert per_example(documents, tokenizer, config).sampling is None
    old_share, _ = _self_supervised_share(documents, tokenizer, config, 100)
    assert old_share > R / (R + 1) + 0.25  # 94% at R = 2, 81% at R = 0.5: documents, cut into ~8.8 examples each
