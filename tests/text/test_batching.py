from __future__ import annotations

import numpy as np
import pytest

from mixlab.errors import ConfigError, DataError, ResumeError
from mixlab.text import BatchConfig, batches, reconstruct
from tests.text.conftest import FakeStream, make_items

KEYS = ["input_ids", "encoder_segment_ids", "encoder_positions", "attention_mask", "decoder_input_ids", "labels",
        "decoder_segment_ids", "decoder_positions", "decoder_task_ids", "task_names"]
TASKS = ["ss/text", "sup/a", "sup/b"]


def config(**overrides):
    values = {"batch_size": 4, "input_length": 48, "target_length": 24, "chunk_size": 8}
    return BatchConfig(**{**values, **overrides})


def examples_of(batch):
    """(task, inputs, targets) of every packed segment, in row-major order."""
    out = []
    for row in range(batch["input_ids"].shape[0]):
        for segment in range(1, int(batch["encoder_segment_ids"][row].max(initial=0)) + 1):
            inputs = batch["input_ids"][row][batch["encoder_segment_ids"][row] == segment]
            decoder = batch["decoder_segment_ids"][row] == segment
            task = set(batch["decoder_task_ids"][row][decoder].tolist())
            assert len(task) == 1
            out.append((batch["task_names"][task.pop()], inputs.tolist(), batch["labels"][row][decoder].tolist()))
    return out


def run(tokenizer, cfg, items=None, seed=0):
    return list(batches(FakeStream(items or make_items(60)), tokenizer, cfg, seed=seed))


def test_contract_keys_shapes_dtypes(tokenizer):
    for batch in run(tokenizer, config()):
        assert list(batch) == KEYS and batch["task_names"] == TASKS
        for key in KEYS[:-1]:
            assert batch[key].dtype == np.int32
            assert batch[key].shape == ((4, 48) if key in KEYS[:4] else (4, 24))
        assert np.array_equal(batch["attention_mask"], (batch["encoder_segment_ids"] > 0).astype(np.int32))
        pad = batch["decoder_segment_ids"] == 0
        assert (batch["labels"][pad] == -100).all() and (batch["decoder_task_ids"][pad] == -1).all()
        assert (batch["input_ids"][batch["encoder_segment_ids"] == 0] == 0).all()


def test_padding_mode_supervised_and_self_supervised_contents(tokenizer):
    items = make_items(60)
    got = [ex for batch in run(tokenizer, config(concat_text=False), items) for ex in examples_of(batch)]
    by_item = iter(got)
    for item in items:
        if "inputs" in item:
            task, inputs, targets = next(by_item)
            assert task == item["task"]
            assert inputs == tokenizer.encode(item["inputs"]) + [1]
            assert targets == tokenizer.encode(item["targets"]) + [1]
        else:
            tokens = tokenizer.encode(item["text"])
            rebuilt = []
            while len(rebuilt) < len(tokens):
                task, inputs, targets = next(by_item)
                assert task == "ss/text"
                rebuilt += reconstruct(inputs, targets, vocab_size=tokenizer.vocab_size).tolist()
            assert rebuilt == tokens
    assert next(by_item, None) is None


def test_concat_text_joins_documents_into_full_pieces(tokenizer):
    items = make_items(60)
    got = [ex for batch in run(tokenizer, config(), items) for ex in examples_of(batch) if ex[0] == "ss/text"]
    rebuilt = [reconstruct(i, t, vocab_size=tokenizer.vocab_size).tolist() for _, i, t in got]
    want = [tok for item in items if "text" in item for tok in tokenizer.encode(item["text"])]
    assert [tok for row in rebuilt for tok in row] == want
    raw = config().raw_length
    assert raw == 52 and sum(len(piece) == raw for piece in rebuilt) >= len(rebuilt) - 8  # short only at chunk ends
    separate = [ex for b in run(tokenizer, config(concat_text=False), items) for ex in examples_of(b)]
    assert len(got) < sum(ex[0] == "ss/text" for ex in separate)


def test_padding_mode_rows_and_decoder_inputs(tokenizer):
    batch = run(tokenizer, config())[0]
    assert set(np.unique(batch["encoder_segment_ids"]).tolist()) <= {0, 1}
    labels, decoder = batch["labels"], batch["decoder_input_ids"]
    real = batch["decoder_segment_ids"] > 0
    assert (decoder[:, 0] == 0).all()
    assert np.array_equal(decoder[:, 1:][real[:, 1:]], labels[:, :-1][real[:, 1:]])


def test_packing_keeps_every_example_in_order_and_restarts_segments(tokenizer):
    padded = [ex for batch in run(tokenizer, config()) for ex in examples_of(batch)]
    packed_batches = run(tokenizer, config(pack=True))
    packed = [ex for batch in packed_batches for ex in examples_of(batch)]
    assert packed == padded  # same chunks, same random draws: identical examples
    assert len(packed_batches) < len(run(tokenizer, config()))
    batch = packed_batches[0]
    assert batch["encoder_segment_ids"].max() >= 2
    for row in range(4):
        seg, pos = batch["decoder_segment_ids"][row], batch["decoder_positions"][row]
        starts = np.flatnonzero((pos == 0) & (seg > 0))
        assert len(starts) == seg.max()
        assert (batch["decoder_input_ids"][row][starts] == 0).all()
        for start in starts[1:]:
            assert seg[start] == seg[start - 1] + 1
        inside = (seg > 0) & (pos > 0)
        assert np.array_equal(batch["decoder_input_ids"][row][inside], batch["labels"][row][np.flatnonzero(inside) - 1])
        enc_seg, enc_pos = batch["encoder_segment_ids"][row], batch["encoder_positions"][row]
        for s in range(1, enc_seg.max() + 1):
            assert enc_pos[enc_seg == s].tolist() == list(range((enc_seg == s).sum()))


def test_packing_golden_counts(tokenizer):
    packed = run(tokenizer, config(pack=True))
    assert [int(b["encoder_segment_ids"].max(axis=1).sum()) for b in packed] == [5, 5, 7, 7, 7, 7, 6, 6, 6]


def test_truncation_policies(tokenizer):
    long_item = {"task": "sup/a", "index": 0, "inputs": "the cat sat on a mat " * 20, "targets": "big red house " * 20}
    items = [long_item, *make_items(6)[1:]]
    it = batches(FakeStream(items), tokenizer, config())
    first = next(it)
    assert it.stats["num_truncated"] == 1
    assert first["input_ids"][0, -1] == 1 and first["labels"][0, -1] == 1  # truncated rows still end with EOS
    assert first["input_ids"][0, :-1].tolist() == tokenizer.encode(long_item["inputs"])[:47]
    it = batches(FakeStream(items), tokenizer, config(truncate="skip"))
    assert examples_of(next(it))[0][0] == "sup/b" and it.stats["num_skipped"] == 1
    with pytest.raises(DataError, match=r"example 'sup/a'#0 has \d+ input / \d+ target tokens .* over 48 / 24; fix"):
        next(batches(FakeStream(items), tokenizer, config(truncate="error")))


def test_single_task_batches(tokenizer):
    items = make_items(90)
    single = run(tokenizer, config(single_task_batches=True, pack=True), items)
    for batch in single:
        assert len(set(batch["decoder_task_ids"][batch["decoder_task_ids"] >= 0].tolist())) == 1
    mixed = run(tokenizer, config(pack=True), items)
    assert sorted(ex for b in single for ex in examples_of(b)) == sorted(ex for b in mixed for ex in examples_of(b))


@pytest.mark.parametrize("overrides", [{}, {"pack": True}, {"single_task_batches": True}])
def test_resume_at_every_batch_yields_the_tail(tokenizer, overrides):
    items = make_items(40)
    cfg = config(**overrides)
    expected = run(tokenizer, cfg, items)
    straight = batches(FakeStream(items), tokenizer, cfg)
    list(straight)
    it = batches(FakeStream(items), tokenizer, cfg)
    for position in range(len(expected) + 1):
        state = it.state_dict()
        resumed = batches(FakeStream(items), tokenizer, cfg)
        resumed.load_state_dict(state)
        tail = list(resumed)
        assert len(tail) == len(expected) - position
        for got, want in zip(tail, expected[position:], strict=True):
            assert all(np.array_equal(got[k], want[k]) for k in KEYS[:-1])
        assert resumed.stats == straight.stats  # resumed counters are not inflated by re-read chunks
        next(it, None)


def test_resume_refuses_other_settings(tokenizer):
    it = batches(FakeStream(make_items(10)), tokenizer, config())
    next(it)
    state = it.state_dict()
    with pytest.raises(ResumeError, match=r"other settings \(pack False -> True\)"):
        batches(FakeStream(make_items(10)), tokenizer, config(pack=True)).load_state_dict(state)
    with pytest.raises(ResumeError, match="cannot resume batches: saved seed is 0 but this one has 1"):
        batches(FakeStream(make_items(10)), tokenizer, config(), seed=1).load_state_dict(state)
    with pytest.raises(ResumeError, match="version 0"):
        it.load_state_dict({**state, "version": 0})
    with pytest.raises(ResumeError, match="list has no state_dict"):
        batches(make_items(10), tokenizer, config(), task_names=TASKS).state_dict()


def test_task_names_sources(tokenizer):
    items = make_items(10)
    names = ["zz/extra", *TASKS]
    assert next(batches(items, tokenizer, config(), task_names=names))["task_names"] == sorted(names)
    with pytest.raises(DataError, match="fix: pass task_names=sorted"):
        batches(items, tokenizer, config())
    with pytest.raises(DataError, match="names a task outside task_names"):
        next(batches(items, tokenizer, config(), task_names=["sup/a"]))


def test_seed_changes_noise_not_supervised(tokenizer):
    items = make_items(30)
    first, other = run(tokenizer, config(), items, seed=0), run(tokenizer, config(), items, seed=1)
    sup = [ex for b in first for ex in examples_of(b) if ex[0] != "ss/text"]
    assert sup == [ex for b in other for ex in examples_of(b) if ex[0] != "ss/text"]
    assert any(not np.array_equal(a["input_ids"], b["input_ids"]) for a, b in zip(first, other, strict=True))


def test_drop_remainder_and_final_partial_batch(tokenizer):
    items = make_items(9)
    kept = run(tokenizer, config(), items)
    assert (kept[-1]["encoder_segment_ids"].max(axis=1) == 0).any()  # last batch padded with empty rows
    dropped = run(tokenizer, config(drop_remainder=True), items)
    assert len(dropped) == len(kept) - 1


def test_config_validation():
    with pytest.raises(ConfigError, match=r"noise spans, more than the 100 sentinels; fix: lower input_length"):
        BatchConfig(batch_size=2, input_length=2000, target_length=600)
    with pytest.raises(ConfigError, match=r"truncate: .*fix: use one of 'truncate', 'skip', 'error'"):
        BatchConfig(batch_size=2, truncate="cut")
    assert BatchConfig(batch_size=2).raw_length == 568
    assert BatchConfig(batch_size=2, input_length=512, target_length=60).raw_length < 568


def test_with_the_real_mixture_stream(tokenizer):
    stream_module = pytest.importorskip("mixlab.stream")
    samplers = pytest.importorskip("mixlab.samplers")
    from mixlab import CallableSource, Task

    def rows(split):
        return [{"q": f"the cat {i}", "a": "big red"} for i in range(30)]

    tasks = [Task(name=f"t/{n}", family="f", collection="c", num_examples={"train": 30},
                  source=CallableSource(fn=rows), formatter=lambda row: {"inputs": row["q"], "targets": row["a"]})
             for n in ("a", "b")]
    mixture = samplers.Mixture.of([(task, 1.0) for task in tasks], name="m")
    stream = mixture.stream(0)
    assert isinstance(stream, stream_module.MixtureStream)
    it = batches(stream, tokenizer, config())  # task names come from stream.mixture
    batch = next(it)
    assert batch["task_names"] == ["t/a", "t/b"] and batch["input_ids"].shape == (4, 48)
    state = it.state_dict()
    expected = [next(it) for _ in range(3)]
    resumed = batches(mixture.stream(0), tokenizer, config(), task_names=sorted(mixture.probabilities))
    resumed.load_state_dict(state)
    assert all(np.array_equal(next(resumed)["input_ids"], want["input_ids"]) for want in expected)


def test_empty_and_tiny_texts(tokenizer):
    items = [{"task": "ss/text", "index": i, "text": text} for i, text in enumerate(["", "", "cat", "", "the dog"])]
    cfg = config(chunk_size=2)
    it = batches(FakeStream(items), tokenizer, cfg, task_names=TASKS)
    got = [ex for batch in it for ex in examples_of(batch)]
    assert it.stats["num_empty"] == 3
    rebuilt = [tok for _, i, t in got for tok in reconstruct(i, t, vocab_size=tokenizer.vocab_size).tolist()]
    assert rebuilt == tokenizer.encode("cat") + tokenizer.encode("the dog")
    assert list(batches(FakeStream(items[:2]), tokenizer, cfg, task_names=TASKS)) == []


def test_raw_length_is_the_longest_chunk_that_fits():
    """``raw_length`` (vectorised) equals the plain scan: the largest r with every length 1..r fitting."""
    import itertools

    from mixlab.text.span_corruption import lengths_after_corruption

    for inputs, targets, density, mean in itertools.product([4, 64, 512, 1024], [2, 29, 114], [0.05, 0.15, 0.9],
                                                            [1.0, 3.0]):
        config = BatchConfig.model_construct(batch_size=1, input_length=inputs, target_length=targets,
                                             noise_density=density, mean_noise_span_length=mean)
        raw = 0
        after = lengths_after_corruption
        while all(a <= b for a, b in zip(after(raw + 1, density, mean), (inputs, targets), strict=True)):
            raw += 1
        assert config.raw_length == raw, (inputs, targets, density, mean)
    assert BatchConfig(batch_size=1, input_length=512, target_length=114).raw_length == 568


def test_mixture_dataset_is_removed_with_an_error_naming_the_replacement():
    import mixlab
    import mixlab.text

    for module in (mixlab, mixlab.text):
        with pytest.raises(AttributeError, match=r"MixtureDataset was removed .* fix: iterate mixlab\.batches\("):
            module.MixtureDataset  # noqa: B018
        assert "MixtureDataset" not in module.__all__
