"""Malformed data rows: by default a ``DataError`` naming the task, row index and file; with
``on_bad_row="skip"`` skipped and counted (stream, batches, metrics); over-long text truncated and
counted; never a silent wrong example."""

from __future__ import annotations

import importlib.util
import itertools

import numpy as np
import pytest

from mixlab import CallableSource, FileSource, Mixture, Registry, Task
from mixlab.errors import DataError
from mixlab.registry.sources import BadRow

GOOD = {"q": "what is a cat", "a": "an animal"}
BAD_ROWS = [  # (id, row, what the error says)
    ("missing-field", {"q": "x"}, r"formatter failed on row \{'q': 'x'\}: KeyError\('a'\)"),
    ("none-value", {"q": "x", "a": None}, r"formatter gave targets of type NoneType, not str"),
    ("wrong-type", {"q": "x", "a": 3}, r"formatter gave targets of type int, not str"),
    ("list-value", {"q": ["x"], "a": "y"}, r"formatter gave inputs of type list, not str"),
    ("empty-targets", {"q": "x", "a": ""}, r"formatter gave empty targets"),
    ("blank-inputs", {"q": " \n\t", "a": "y"}, r"formatter gave empty inputs"),
    ("not-a-mapping", ["x", "y"], r"row is a list, not a mapping of columns"),
    ("none-row", None, r"row is a NoneType, not a mapping of columns"),
]


def _formatter(row):
    return {"inputs": row["q"], "targets": row["a"]}


def _task(name, rows, *, self_supervised=False, source=None):
    return Task(name=name, family="QA", collection="demo", num_examples={"train": len(rows)},
                source=source or CallableSource(fn=lambda split: rows),
                formatter=None if self_supervised else _formatter, self_supervised=self_supervised)


def _rows_with(bad, at, n=12):
    return [bad if i == at else {"q": f"q{i}", "a": f"a{i}"} for i in range(n)]


@pytest.mark.parametrize("case, bad, message", BAD_ROWS, ids=[c[0] for c in BAD_ROWS])
def test_bad_row_fails_in_place_naming_task_and_row(case, bad, message):
    task = _task("demo/qa", _rows_with(bad, 7))
    stream = Mixture.of([(task, 1.0)], name="m").stream(seed=3, exhaustion="first")
    order = [index for _, index in stream.schedule()]
    served = []
    with pytest.raises(DataError, match=r"task 'demo/qa': " + message + r".*; at train row 7$"):
        for example in stream:
            served.append(example["index"])
    assert served == order[: order.index(7)]  # the good examples before it came through


@pytest.mark.parametrize("case, bad, message", BAD_ROWS, ids=[c[0] for c in BAD_ROWS])
def test_skip_policy_skips_and_counts(case, bad, message):
    rows = _rows_with(bad, 7)
    task = _task("demo/qa", rows)
    stream = Mixture.of([(task, 1.0)], name="m").stream(seed=3, exhaustion="first", on_bad_row="skip")
    examples = list(stream)
    assert sorted(e["index"] for e in examples) == [i for i in range(12) if i != 7]
    assert all(e["targets"] == f"a{e['index']}" for e in examples)  # nothing wrong slipped through
    assert stream.skipped_rows == {"demo/qa": 1}
    assert stream.state_dict()["skipped"] == {"demo/qa": 1}


def test_self_supervised_bad_rows():
    rows = [{"text": "a cat"}, {"text": " "}, {"text": None}, {"body": "x"}, {"text": 5}, {"text": "a dog"}]
    task = _task("demo/text", rows, self_supervised=True)
    expected = {1: r"text column 'text' is empty", 2: r"row has no text column 'text' \(missing; keys \['text'\]\)",
                3: r"row has no text column 'text' \(missing; keys \['body'\]\)",
                4: r"row has no text column 'text' \(of type int; keys \['text'\]\)"}
    for index, message in expected.items():
        with pytest.raises(DataError, match=rf"task 'demo/text': {message}; at train row {index}$"):
            task.format_at(rows, index)
    with pytest.raises(DataError, match=r"task 'demo/text': .*; at train row [1-4]$"):
        list(Mixture.of([(task, 1.0)], name="m").stream(seed=0, exhaustion="first"))
    stream = Mixture.of([(task, 1.0)], name="m").stream(seed=0, exhaustion="first", on_bad_row="skip")
    assert sorted(e["text"] for e in stream) == ["a cat", "a dog"] and stream.skipped_rows == {"demo/text": 4}


def test_skip_counts_survive_resume_exactly():
    rows = [{"q": f"q{i}", "a": "" if i % 5 == 0 else f"a{i}"} for i in range(50)]
    task = _task("demo/qa", rows)
    mixture = Mixture.of([(task, 1.0)], name="m")
    straight = mixture.stream(seed=1, on_bad_row="skip")
    whole = list(itertools.islice(straight, 120))
    first = mixture.stream(seed=1, on_bad_row="skip")
    head = list(itertools.islice(first, 45))
    resumed = mixture.stream(seed=1, on_bad_row="skip")
    resumed.load_state_dict(first.state_dict())
    assert head + list(itertools.islice(resumed, 75)) == whole
    assert resumed.skipped_rows == straight.skipped_rows and straight.skipped_rows["demo/qa"] > 0


def _jsonl_task(tmp_path, content: bytes, n: int):
    (tmp_path / "rows.jsonl").write_bytes(content)
    source = FileSource(format="jsonl", files={"train": ["rows.jsonl"]}, root=str(tmp_path))
    return _task("demo/file", [None] * n, source=source)


FILE = (b'{"q": "a", "a": "b"}\n'
        b'{"q": "caf\xe9", "a": "b"}\n'  # Latin-1, not UTF-8
        b'{"q": "c", "a": \n'  # cut JSON
        b'[1, 2]\n'  # not an object
        b'{"q": "d", "a": "e"}\n'
        b'{"q": "f"}\n')  # missing field


def test_file_rows_default_errors_name_task_file_and_line(tmp_path):
    task = _jsonl_task(tmp_path, FILE, 6)
    with pytest.raises(DataError, match=r"task 'demo/file', split 'train': .*rows\.jsonl: not valid UTF-8 at byte 31 "
                                        r"\(line 2\); fix: re-encode the file as UTF-8, or set on_bad_row='skip'"):
        list(Mixture.of([(task, 1.0)], name="m").stream(seed=0))
    good = _jsonl_task(tmp_path, FILE.replace(b"caf\xe9", b"cafe").replace(b'"a": \n', b'"a": "x"}\n')
                       .replace(b"[1, 2]", b'{"q": "g", "a": "h"}'), 6)
    with pytest.raises(DataError, match=r"task 'demo/file': formatter failed on row \{'q': 'f'\}: KeyError\('a'\); "
                                        r"at train row 5 \(file .*rows\.jsonl, record 5\)$"):
        list(Mixture.of([(good, 1.0)], name="m").stream(seed=0, exhaustion="all"))


def test_data_shorter_than_declared_still_names_the_file(tmp_path):
    """Rows cycled because the file is shorter than declared keep pointing at their file and record."""
    good = (FILE.replace(b"caf\xe9", b"cafe").replace(b'"a": \n', b'"a": "x"}\n')
            .replace(b"[1, 2]", b'{"q": "g", "a": "h"}'))
    task = _jsonl_task(tmp_path, good, 9)  # 6 rows in the file: example 8 reads record 2, example 5 record 5
    with pytest.warns(UserWarning, match="declares 9 train examples but its data has 6 rows"), pytest.raises(
            DataError, match=r"formatter failed on row \{'q': 'f'\}: KeyError\('a'\); at train row 5 "
                             r"\(file .*rows\.jsonl, record 5\)$"):
        list(Mixture.of([(task, 1.0)], name="m").stream(seed=0, exhaustion="all"))


def test_a_failed_load_is_tried_once_and_raised_in_place(tmp_path):
    calls = []

    def fails(split):
        calls.append(split)
        raise DataError("disk on fire")

    task = _task("demo/qa", [None] * 4, source=CallableSource(fn=fails))
    with pytest.raises(DataError, match="disk on fire"):
        list(Mixture.of([(task, 1.0)], name="m").stream(seed=0))
    assert calls == ["train"]  # the fast path's attempt is reused by the careful path, not repeated


def test_file_rows_skip_policy_keeps_indices_aligned(tmp_path):
    task = _jsonl_task(tmp_path, FILE, 6)
    rows = task.load("train", on_bad_row="skip")
    assert len(rows) == 6 and [type(r).__name__ for r in rows] == ["dict", "BadRow", "BadRow", "BadRow", "dict",
                                                                    "dict"]
    assert rows[1] == BadRow(str(tmp_path / "rows.jsonl"), 2, "not valid UTF-8 at byte 10 of the line")
    assert rows[2].reason.startswith("invalid JSON") and rows[3].reason == "expected a JSON object, got list"
    with pytest.raises(DataError, match=r"unreadable row \(expected a JSON object, got list\); at train row 3 "
                                        r"\(file .*rows\.jsonl, record 3\)$"):
        task.format_at(rows, 3)
    stream = Mixture.of([(task, 1.0)], name="m").stream(seed=0, exhaustion="all", on_bad_row="skip")
    assert sorted((e["index"], e["inputs"]) for e in stream) == [(0, "a"), (4, "d")]
    assert stream.skipped_rows == {"demo/file": 4}


def test_text_file_invalid_utf8_skip(tmp_path):
    (tmp_path / "c.txt").write_bytes(b"one\ntw\xff\n\nthree\n")
    source = FileSource(format="text", files={"train": ["c.txt"]}, root=str(tmp_path))
    with pytest.raises(DataError, match=r"c\.txt: not valid UTF-8 at byte 6 \(line 2\)"):
        source.load("train")
    rows = source.load("train", on_bad_row="skip")
    assert rows[0] == {"text": "one"} and isinstance(rows[1], BadRow) and rows[2] == {"text": "three"}
    assert rows.origin(2).endswith("c.txt, record 2")


@pytest.mark.skipif(importlib.util.find_spec("mixlab_wordnet") is None, reason="needs the mixlab-wordnet plugin")
def test_over_long_text_truncated_and_counted_and_skips_reach_metrics(tmp_path):
    import mixlab_wordnet

    from mixlab.text import BatchConfig, batches, load_tokenizer
    from mixlab.train import PretrainConfig, read_metrics, train

    long_text = "the cat sat on the mat " * 2000  # ~46k characters
    rows = [{"q": long_text if i == 3 else f"question {i}", "a": "" if i == 5 else long_text if i == 4 else f"a {i}"}
            for i in range(8)]
    task = _task("demo/qa", rows)
    tokenizer = load_tokenizer(mixlab_wordnet.tokenizer_path())
    config = BatchConfig(batch_size=2, input_length=32, target_length=8)
    stream = Mixture.of([(task, 1.0)], name="m").stream(seed=0, exhaustion="all", on_bad_row="skip")
    it = batches(stream, tokenizer, config, task_names=["demo/qa"])
    out = list(it)
    assert it.stats["num_truncated"] == 2 and it.stats["num_examples"] == 7 and stream.skipped_rows == {"demo/qa": 1}
    assert all(b["input_ids"].shape == (2, 32) for b in out)
    labels = np.concatenate([b["labels"].ravel() for b in out])
    assert ((labels == -100) | ((labels >= 0) & (labels < tokenizer.vocab_size))).all()
    lengths = sorted(int((b["input_ids"][r] > 0).sum()) for b in out for r in range(2))
    assert lengths[-1] == 32  # the long one cut to input_length, ending in EOS
    assert any(b["input_ids"][r, 31] == tokenizer.eos_id for b in out for r in range(2))
    with pytest.raises(DataError, match=r"over 32 / 8; fix: set truncate='truncate' or 'skip'"):
        list(batches(Mixture.of([(task, 1.0)], name="m").stream(seed=0, exhaustion="all", on_bad_row="skip"),
                     tokenizer, BatchConfig(batch_size=2, input_length=32, target_length=8, truncate="error"),
                     task_names=["demo/qa"]))

    registry = Registry.from_tasks([task])
    cfg = PretrainConfig(mixture={"name": "m", "components": [{"task": "demo/qa"}]}, tokenizer=str(
        mixlab_wordnet.tokenizer_path()), batch_size=2, input_length=32, target_length=8, steps=3, warmup_steps=1,
        log_interval=1, checkpoint_interval=0, out_dir=str(tmp_path / "run"), on_bad_row="skip",
        backend={"precision": "fp32"})
    records = read_metrics(train(cfg, registry=registry, progress=False).out_dir)
    assert records[-1]["data"]["num_bad_rows"] >= 1 and records[-1]["data"]["num_truncated"] >= 2
    with pytest.raises(DataError, match=r"task 'demo/qa': formatter gave empty targets .*; at train row 5$"):
        train(PretrainConfig(**{**cfg.to_dict(), "on_bad_row": "error", "out_dir": str(tmp_path / "strict")}),
              registry=registry, progress=False)


def test_lines_split_alike_whether_or_not_a_line_is_bad(tmp_path):
    """Only \\n (or \\r\\n) ends a line, in the strict reader and in the one that skips undecodable lines:
    one bad byte elsewhere in a file must not change how the other lines are read."""
    good = '{"q": "a\u2028b", "a": "x"}\r\n{"q": "c", "a": "y"}\n'.encode()
    task = _jsonl_task(tmp_path, good, 2)
    rows = task.load("train")
    assert [r["q"] for r in rows] == ["a\u2028b", "c"]
    assert task.load("train", on_bad_row="skip") == rows
    task = _jsonl_task(tmp_path, good + b'{"q": "caf\xe9", "a": "z"}\n', 3)
    skipped = task.load("train", on_bad_row="skip")
    assert skipped[:2] == rows and type(skipped[2]).__name__ == "BadRow"
    text = FileSource(format="text", files={"train": ["t.txt"]}, root=str(tmp_path))
    (tmp_path / "t.txt").write_bytes(b"one\rtwo\nthree\r\n")
    assert [r["text"] for r in text.load("train")] == ["one\rtwo", "three"]
    (tmp_path / "t.txt").write_bytes(b"one\rtwo\nthree\r\n\xff\n")
    assert [r["text"] for r in text.load("train", on_bad_row="skip")[:2]] == ["one\rtwo", "three"]
