"""One resume protocol for every data stage: stream, batch iterator and the training sources.

Each stage iterates, saves ``state_dict()`` and continues from ``load_state_dict(state)``; each refuses
a state of another stage or another format version with the one message form of ``mixlab.resumable``.
"""

from __future__ import annotations

import itertools
import re
import warnings
import zlib

import numpy as np
import pytest

from mixlab import CallableSource, Mixture, Registry, Task
from mixlab.errors import ResumeError
from mixlab.resumable import Resumable
from mixlab.text import BatchConfig, batches
from mixlab.train import PretrainConfig, build_data
from mixlab.train.data import MixtureBatches, Prefetcher, SyntheticBatches, as_source, with_states

KEYS = ("input_ids", "labels", "decoder_task_ids", "encoder_segment_ids")


class WordTokenizer:
    """Ids from a hash of each word: enough for the batch iterator (encode_batch, eos_id, vocab_size)."""

    eos_id, vocab_size = 1, 64

    def encode_batch(self, texts):
        return [[word_id(word) for word in text.split()] for text in texts]


def word_id(word: str) -> int:
    return 3 + zlib.crc32(word.encode()) % 60


def _task(name: str, splits: dict[str, int]) -> Task:
    def rows(split):
        return [{"q": f"{split} question {i} of {name}", "a": f"answer {i}"} for i in range(splits[split])]

    return Task(name=name, family="QA", collection="demo", num_examples=splits, source=CallableSource(fn=rows),
                formatter=lambda row: {"inputs": row["q"], "targets": row["a"]})


TASKS = [_task("demo/a", {"train": 40, "validation": 6}), _task("demo/b", {"train": 30})]
MIXTURE = Mixture.of([(task, 1.0) for task in TASKS], name="demo")
CONFIG = BatchConfig(batch_size=2, input_length=24, target_length=8, chunk_size=8)


def _stages() -> dict[str, Resumable]:
    tokenizer = WordTokenizer()
    return {
        "stream": MIXTURE.stream(0),
        "batches": batches(MIXTURE.stream(0), tokenizer, CONFIG),
        "synthetic": SyntheticBatches(["demo/a", "demo/b"], batch_size=2, input_length=24, target_length=8,
                                      vocab_size=64),
        "mixture": MixtureBatches(MIXTURE, tokenizer, CONFIG, seed=0),
    }


def test_every_stage_follows_the_protocol_and_refuses_other_states_the_same_way():
    stages = _stages()
    states = {}
    for name, stage in stages.items():
        assert isinstance(stage, Resumable), name
        next(iter(stage))
        states[name] = stage.state_dict()
    kinds = {name: state["kind"] for name, state in states.items()}
    assert kinds == {"stream": "mixlab.stream", "batches": "mixlab.text.batches", "synthetic": "synthetic",
                     "mixture": "mixture"}
    assert {name: state["version"] for name, state in states.items() if name in ("synthetic", "mixture")} == {
        "synthetic": 2, "mixture": 2}
    for (saver, state), (name, stage) in itertools.product(states.items(), stages.items()):
        if saver == name:
            continue
        with pytest.raises(ResumeError, match=rf"^state of a '{re.escape(kinds[saver])}' cannot resume a "
                                              rf"{re.escape(kinds[name])}; fix: load it into the stage that saved it"):
            stage.load_state_dict(state)
    for name, stage in stages.items():
        version = states[name]["version"]
        with pytest.raises(ResumeError, match=rf"^{re.escape(kinds[name])} state has version {version + 1}, this "
                                              rf"mixlab reads version {version}: it was saved by another mixlab "
                                              rf"version; fix: resume with the mixlab version that saved it"):
            stage.load_state_dict({**states[name], "version": version + 1})
        with pytest.raises(ResumeError, match=rf"^{re.escape(kinds[name])} state must be a mapping"):
            stage.load_state_dict([1, 2])


def _assert_resumes_at_every_position(make, num_batches: int) -> None:
    """Resuming from the state after batch k yields exactly batches k+1.. of an uninterrupted run."""
    expected = list(itertools.islice(make(), num_batches))
    for k in range(num_batches):
        source = make()
        list(itertools.islice(source, k))
        state = source.state_dict()
        resumed = make()
        resumed.load_state_dict(state)
        tail = list(itertools.islice(resumed, num_batches - k))
        assert len(tail) == num_batches - k
        for got, want in zip(tail, expected[k:], strict=True):
            assert all(np.array_equal(got[key], want[key]) for key in KEYS), k


def test_training_sources_resume_at_every_batch():
    _assert_resumes_at_every_position(lambda: SyntheticBatches(["a/b"], batch_size=2, input_length=16,
                                                               target_length=8, vocab_size=64, seed=3), 5)
    _assert_resumes_at_every_position(lambda: MixtureBatches(MIXTURE, WordTokenizer(), CONFIG, seed=0), 8)


def test_each_iter_continues_where_the_last_stopped():
    source = MixtureBatches(MIXTURE, WordTokenizer(), CONFIG, seed=0)
    expected = list(itertools.islice(MixtureBatches(MIXTURE, WordTokenizer(), CONFIG, seed=0), 4))
    got = list(itertools.islice(source, 2)) + list(itertools.islice(source, 2))
    assert all(np.array_equal(a["input_ids"], b["input_ids"]) for a, b in zip(got, expected, strict=True))
    assert source.state_dict()["iterator"]["stats"]["num_batches"] == 4


def test_prefetched_states_belong_to_their_batch():
    """The loop's pairing: with the prefetcher reading ahead, each state still resumes right after its batch."""
    make = lambda: SyntheticBatches(["a/b"], batch_size=2, input_length=16, target_length=8, vocab_size=64)  # noqa
    expected = list(itertools.islice(make(), 6))
    prefetcher = Prefetcher(with_states(make()), depth=3)
    pairs = [next(prefetcher) for _ in range(3)]
    prefetcher.close()
    assert [state["position"] for _, state in pairs] == [1, 2, 3]
    resumed = make()
    resumed.load_state_dict(pairs[1][1])
    assert np.array_equal(next(iter(resumed))["input_ids"], expected[2]["input_ids"])


def test_sources_refuse_another_shard_split_or_setting():
    synthetic = SyntheticBatches(["a/b"], batch_size=2, input_length=16, target_length=8, vocab_size=64)
    state = synthetic.state_dict()
    other = SyntheticBatches(["a/b"], batch_size=2, input_length=16, target_length=8, vocab_size=64, shard=(1, 2))
    with pytest.raises(ResumeError, match=r"cannot resume synthetic batches: saved shard is \[0, 1\] but this one "
                                          r"has \[1, 2\]; fix: resume with the same number of processes"):
        other.load_state_dict(state)
    reseeded = SyntheticBatches(["a/b"], batch_size=2, input_length=16, target_length=8, vocab_size=64, seed=1)
    with pytest.raises(ResumeError, match=r"saved seed is 0 but this one has 1; fix: resume with the saved run's"):
        reseeded.load_state_dict(state)
    train = MixtureBatches(MIXTURE, WordTokenizer(), CONFIG, seed=0).state_dict()
    sub = Mixture.of([(TASKS[0], 1.0)], name="demo")
    with pytest.raises(ResumeError, match=r"saved split is 'train' but this one has 'validation'"):
        MixtureBatches(sub, WordTokenizer(), CONFIG, seed=0, split="validation").load_state_dict(train)
    with pytest.raises(ResumeError, match=r"cannot resume batches: saved seed is 0 but this one has 5"):
        MixtureBatches(MIXTURE, WordTokenizer(), CONFIG, seed=5).load_state_dict(train)


class _Backend:  # what build_data reads from a backend
    rank, world_size, shard = 0, 1, (0, 1)


def _eval_source(tasks):
    registry = Registry.from_tasks(tasks)
    config = PretrainConfig(mixture={"name": "demo", "components": [{"task": t.name} for t in tasks]},
                            batch_size=2, input_length=24, target_length=8, steps=1)
    return build_data(config, _Backend(), 64, tokenizer=WordTokenizer(), registry=registry, split="validation")


def test_eval_reads_the_eval_split_and_warns_about_tasks_without_it():
    with pytest.warns(UserWarning, match=r"eval: 1 task\(s\) have no 'validation' split and are left out of "
                                         r"eval: demo/b"):
        source = _eval_source(TASKS)
    assert source.task_names == ["demo/a"] and source.split == "validation"
    ids = np.concatenate([b["input_ids"].ravel() for b in itertools.islice(source, 6)])
    assert (ids == word_id("validation")).any() and not (ids == word_id("train")).any()
    with pytest.warns(UserWarning) as record:
        assert _eval_source(TASKS[1:]) is None
    assert [str(w.message) for w in record] == [
        "eval: 1 task(s) have no 'validation' split and are left out of eval: demo/b",
        "eval: no task of mixture 'demo' has a 'validation' split; eval is off"]


def test_a_source_with_only_the_old_iterate_is_adapted_with_a_deprecation_warning():
    inner = SyntheticBatches(["a/b"], batch_size=2, input_length=16, target_length=8, vocab_size=64)

    class Old:
        def __init__(self):
            self.task_names = ["a/b"]

        def iterate(self, state=None):
            position = state["at"] if state else 0
            while True:
                position += 1
                yield inner.batch(position - 1), {"at": position}

    with pytest.warns(DeprecationWarning, match=r"Old has only iterate\(state\), the old batch-source interface; "
                                                r"fix: give it __iter__, state_dict\(\) and load_state_dict"):
        source = as_source(Old())
    list(itertools.islice(source, 3))
    assert source.state_dict() == {"at": 3}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        resumed = as_source(Old())
    resumed.load_state_dict({"at": 3})
    assert np.array_equal(next(iter(resumed))["input_ids"], inner.batch(3)["input_ids"])
    with pytest.raises(TypeError, match=r"data factory returned a list, which lacks state_dict, load_state_dict, "
                                        r"task_names; fix: return a batch source"):
        as_source([])


def test_train_sources_is_a_deprecated_name_of_data_factory():
    import mixlab.train.sources as old
    from mixlab.train import data_factory

    with pytest.warns(DeprecationWarning, match="renamed mixlab.train.data_factory"):
        assert old.build_data is data_factory.build_data
