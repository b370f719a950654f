"""MixtureStream(split=...): rows and sizes of the split, the split in the state, a task without it."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from mixlab import CallableSource, DataError, MixtureSpecError, ResumeError, Task
from mixlab.samplers import Mixture
from tests.samplers.helpers import assert_resumes_at_every_position, make_task, take

SIZES = {"sp/a": {"train": 6, "validation": 2}, "sp/b": {"train": 9, "validation": 3}}


def split_task(name: str) -> Task:
    """A task whose rows say which split they come from: ``{"x": "<name>:<split>:<i>"}``."""
    def rows(split: str) -> list[dict[str, str]]:
        return [{"x": f"{name}:{split}:{i}"} for i in range(SIZES[name][split])]

    return Task(name=name, family="fam", collection="test", num_examples=SIZES[name], source=CallableSource(fn=rows),
                formatter=lambda row: {"inputs": row["x"], "targets": row["x"].upper()})


def split_mix() -> Mixture:
    return Mixture.of([(split_task("sp/a"), 1.0), (split_task("sp/b"), 1.0)], name="split-mix")


def test_eval_split_reads_its_rows_and_sizes():
    examples = list(split_mix().stream(seed=0, split="validation", exhaustion="all"))
    assert sorted((ex["task"], ex["index"]) for ex in examples) == [
        ("sp/a", 0), ("sp/a", 1), ("sp/b", 0), ("sp/b", 1), ("sp/b", 2)]  # every validation example once
    assert all(ex["inputs"] == f"{ex['task']}:validation:{ex['index']}" for ex in examples)
    assert Counter(ex["task"] for ex in split_mix().stream(seed=0, exhaustion="all")) == {"sp/a": 6, "sp/b": 9}


def test_train_is_the_default_and_split_is_in_the_state():
    mix = split_mix()
    assert take(mix.stream(seed=4).schedule(), 40) == take(mix.stream(seed=4, split="train").schedule(), 40)
    stream = mix.stream(seed=4, split="validation")
    assert stream.state_dict()["split"] == "validation" and stream.state_dict()["kind"] == "mixlab.stream"
    assert stream.state_dict()["version"] == 4
    assert "split='validation'" in repr(stream)


def test_eval_split_resumes_exactly():
    assert_resumes_at_every_position(lambda: split_mix().stream(seed=2, split="validation", block_size=2),
                                     n=12)


def test_refuses_resume_across_splits():
    train = split_mix().stream(seed=1)
    take(iter(train), 3)
    state = json.loads(json.dumps(train.state_dict()))
    with pytest.raises(ResumeError, match=r"saved split is 'train' but this one has 'validation'; fix: build the "
                                          r"stream with the same mixture, split"):
        split_mix().stream(seed=1, split="validation").load_state_dict(state)
    with pytest.raises(ResumeError, match=r"state of a 'mixlab.text.batches' cannot resume a mixlab.stream"):
        split_mix().stream(seed=1).load_state_dict({**state, "kind": "mixlab.text.batches"})
    with pytest.raises(ResumeError, match=r"mixlab.stream state has version 2, this mixlab reads version 4"):
        split_mix().stream(seed=1).load_state_dict({**state, "version": 2})


def test_a_task_without_the_split_is_refused_by_name():
    mix = Mixture.of([(split_task("sp/a"), 1.0), (make_task("sp/train-only", 4), 1.0)], name="partial")
    with pytest.raises(MixtureSpecError, match=r"task 'sp/train-only' of mixture 'partial' has no 'validation' "
                                               r"split \(it declares \['train'\]\); fix: stream another split"):
        mix.stream(seed=0, split="validation")
    with pytest.raises(MixtureSpecError, match=r"split must be a split name"):
        mix.stream(seed=0, split="")


def test_data_override_follows_the_split_sizes():
    rows = {"sp/a": [{"x": f"given:{i}"} for i in range(2)], "sp/b": [{"x": f"given:{i}"} for i in range(3)]}
    examples = list(split_mix().stream(seed=0, split="validation", exhaustion="all", data=rows))
    assert sorted(ex["inputs"] for ex in examples) == ["given:0", "given:0", "given:1", "given:1", "given:2"]
    short = {"sp/a": [{"x": "only"}], "sp/b": rows["sp/b"]}
    with pytest.warns(UserWarning, match=r"task 'sp/a' declares 2 validation examples but its data has 1 rows; .*"
                                         r"fix num_examples\['validation'\]"):
        assert len(list(split_mix().stream(seed=0, split="validation", exhaustion="all", data=short))) == 5


def test_a_bad_row_names_its_split():
    rows = {"sp/a": [{"x": "fine"}, {"y": "no x"}], "sp/b": [{"x": f"b{i}"} for i in range(3)]}
    with pytest.raises(DataError, match=r"task 'sp/a': formatter failed on row .*; at validation row 1"):
        list(split_mix().stream(seed=0, split="validation", exhaustion="all", data=rows))
