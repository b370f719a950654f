"""The realised per-task shares of examples and tokens the trainer logs (task_example_share, task_token_share)."""

from __future__ import annotations

import importlib.util
import itertools
import warnings

import numpy as np
import pytest

from mixlab.train.shares import TaskShares, count_batch
from tests.train.helpers import pack_row


def _batch(rows):
    return {k: np.stack([r[k] for r in rows]) for k in rows[0]}


def test_count_batch_counts_segments_and_their_tokens():
    rows = [pack_row([(np.array([5, 6, 1]), np.array([7, 1]), 2), (np.array([8, 1]), np.array([9, 9, 1]), 0)], 8, 6),
            pack_row([(np.array([5, 5, 5, 5, 1]), np.array([1]), 2)], 8, 6),
            pack_row([], 8, 6)]  # an empty (padding) row
    examples, tokens = count_batch(_batch(rows), 4)
    assert examples.tolist() == [1, 0, 2, 0]
    assert tokens.tolist() == [2 + 3, 0, (3 + 2) + (5 + 1), 0]


def test_shares_sum_over_processes_and_restart():
    row = pack_row([(np.array([5, 1]), np.array([7, 1]), 0), (np.array([6, 6, 1]), np.array([1]), 1)], 8, 4)
    shares = TaskShares(3)
    shares.add(_batch([row]))
    shares.add(_batch([row]))
    other = ([True, [1, 1, 0], [4, 4, 0]])  # what a second process counted
    record = shares.record(["a", "b", "c"], lambda local: [local, other])
    assert record["task_example_share"] == pytest.approx({"a": 3 / 6, "b": 3 / 6})
    assert record["task_token_share"] == pytest.approx({"a": (8 + 4) / 24, "b": (8 + 4) / 24})
    assert shares.examples.tolist() == [0, 0, 0]  # counting starts again
    shares.add({"input_ids": np.zeros((1, 4))})  # a custom source's batch without segment or task ids
    assert shares.record(["a", "b", "c"], lambda local: [local]) == {}


@pytest.mark.skipif(importlib.util.find_spec("mixlab_wordnet") is None, reason="mixlab-wordnet plugin not installed")
def test_trainer_logs_the_shares_of_its_batches(tmp_path):
    """wordnet-ext5 (R = 2) at 64 / 16 tokens: the logged shares are those of the batches trained on, the
    self-supervised share of examples is near 2/3 (seqio's R), and the manifest records the measurement."""
    import mixlab_wordnet

    import mixlab
    from mixlab.run_folder import load, read_metrics
    from mixlab.text import BatchConfig, load_tokenizer
    from mixlab.train import PretrainConfig, train
    from mixlab.train.data import MixtureBatches

    cfg = PretrainConfig(mixture="wordnet-ext5", tokenizer=str(mixlab_wordnet.tokenizer_path()), model="tiny",
                         batch_size=16, input_length=64, target_length=16, steps=20, warmup_steps=5, seed=3,
                         log_interval=10, checkpoint_interval=0, out_dir=str(tmp_path / "run"),
                         backend={"precision": "fp32"})
    result = train(cfg, progress=False)
    records = [r for r in read_metrics(result.out_dir) if "loss" in r]
    assert [r["step"] for r in records] == [10, 20]
    for record in records:
        assert sum(record["task_example_share"].values()) == pytest.approx(1.0)
        assert sum(record["task_token_share"].values()) == pytest.approx(1.0)
    manifest = load(result.out_dir).manifest
    sampling = manifest["sampling"]
    assert sampling["seed"] == 3 and sampling["raw_length"] == 70 and sampling["split"] == "train"
    assert sampling["pieces_per_document"]["wordnet/text"] == pytest.approx(8.78, abs=0.05)
    assert {t["name"]: t["rate"] for t in manifest["tasks"]}["wordnet/text"] == pytest.approx(2 / 3)

    # the same batches, rebuilt from the manifest's measurement, counted here
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # this environment's deliberately broken test plugins
        mixture = mixlab.resolve_mixture("wordnet-ext5", registry=mixlab.load_registry())
    tokenizer = load_tokenizer(mixlab_wordnet.tokenizer_path())
    config = BatchConfig(batch_size=16, input_length=64, target_length=16, pack=True)
    measured = mixlab.per_example(mixture, tokenizer, config, seed=3)
    assert measured.sampling["document_probabilities"] == sampling["document_probabilities"]
    source = MixtureBatches(measured, tokenizer, config, seed=3)
    names = source.task_names
    total = np.zeros(len(names))
    batches = list(itertools.islice(source, 20))
    for record, window in zip(records, (batches[:10], batches[10:]), strict=True):
        counts = sum(count_batch(batch, len(names))[0] for batch in window)
        expected = {n: c / counts.sum() for n, c in zip(names, counts, strict=True) if c > 0}
        assert record["task_example_share"] == pytest.approx(expected, abs=1e-12)
        total += counts
    assert total[names.index("wordnet/text")] / total.sum() == pytest.approx(2 / 3, abs=0.12)


def test_changed_weights_are_example_shares_when_documents_give_several_examples():
    """A policy's or schedule's weights count training examples, like the mixture's own probabilities: with a
    measured sampling (8 examples per text document), the stream is told to draw text documents 8x less often."""
    from mixlab import Mixture
    from mixlab.train.data import MixtureBatches
    from tests.samplers.helpers import make_task

    mix = Mixture.of([(make_task("t/text", 10, self_supervised=True), 2.0), (make_task("t/qa", 10), 1.0)], name="m")
    sampled = mix._with(sampling={"pieces_per_document": {"t/text": 8.0},
                                  "document_probabilities": {"t/text": 0.2, "t/qa": 0.8}})
    told: dict[str, float] = {}

    class Stream:
        def set_probabilities(self, probabilities, at_position):
            told.update(probabilities, at=at_position)

    source = MixtureBatches(sampled, None, None, seed=0)
    source._batches = lambda: None  # type: ignore[method-assign]
    source._live = (Stream(), None)
    source.set_probabilities({"t/text": 0.5, "t/qa": 0.5}, at_position=7)
    assert told == pytest.approx({"t/text": 0.5 / 8 / (0.5 / 8 + 0.5), "t/qa": 0.5 / (0.5 / 8 + 0.5), "at": 7})
    plain = MixtureBatches(mix, None, None, seed=0)
    plain._batches = lambda: None  # type: ignore[method-assign]
    plain._live = (Stream(), None)
    plain.set_probabilities({"t/text": 0.5, "t/qa": 0.5}, at_position=9)
    assert told == {"t/text": 0.5, "t/qa": 0.5, "at": 9}
