"""The Task model: validation messages, formatting, sources."""

import json
from pathlib import Path

import pytest

import mixlab
from mixlab import CallableSource, DataError, FileSource, HFSource, Task, TaskSpecError


def make_task(**overrides):
    spec = dict(
        name="demo/qa", family="QA", collection="demo", num_examples={"train": 2, "validation": 1},
        source=CallableSource(fn=lambda split: [{"q": "2+2?", "a": "4"}, {"q": "1+1?", "a": "2"}]),
        formatter=lambda row: {"inputs": "question: " + row["q"], "targets": row["a"]},
    )
    spec.update(overrides)
    return Task(**spec)


def test_examples_are_formatted_in_source_order():
    task = make_task()
    assert list(task.examples("train")) == [
        {"inputs": "question: 2+2?", "targets": "4"},
        {"inputs": "question: 1+1?", "targets": "2"},
    ]
    assert task.num_train == 2
    assert task.fingerprint == "demo/qa@1.0.0"
    assert task.summary() == {"name": "demo/qa", "family": "QA", "collection": "demo", "num_examples": 2, "tags": []}


def test_task_is_frozen():
    task = make_task()
    with pytest.raises(Exception, match="frozen"):
        task.family = "NLI"


@pytest.mark.parametrize(
    ("overrides", "pattern"),
    [
        ({"name": "NoNamespace"}, r"invalid task 'NoNamespace':\n  name: .*namespaced.*fix: use a lower-case"),
        ({"family": ""}, r"family: .*at least 1 character.*fix: name the task family"),
        ({"num_examples": {"validation": 3}}, r"num_examples: no 'train' count"),
        ({"num_examples": {"train": -1}}, r"num_examples: negative example counts \{'train': -1\}"),
        ({"formatter": None}, r"formatter: a supervised task needs a formatter"),
        ({"version": "v2"}, r"version: 'v2' is not a dotted version number"),
        ({"colour": "red"}, r"colour: Extra inputs are not permitted"),
        ({"source": {"kind": "ftp"}}, r"source: .*tag 'ftp'.*expected tags"),
    ],
)
def test_invalid_specs_name_the_task_field_and_fix(overrides, pattern):
    with pytest.raises(TaskSpecError, match=pattern):
        make_task(**overrides)


def test_task_spec_error_is_a_value_error_and_mixlab_error():
    with pytest.raises(ValueError):
        make_task(name="x")
    assert issubclass(TaskSpecError, mixlab.MixlabError)


def test_self_supervised_task_needs_no_formatter_and_gives_text():
    task = make_task(formatter=None, self_supervised=True, source=CallableSource(fn=lambda s: [{"text": "hello"}]))
    assert list(task.examples()) == [{"text": "hello"}]
    with pytest.raises(DataError, match="no text column 'text'"):
        task.format({"body": "x"})


def test_formatter_failures_name_the_task_and_row():
    task = make_task()
    with pytest.raises(DataError, match=r"task 'demo/qa': formatter failed on row \{'q': 'x'\}: KeyError"):
        task.format({"q": "x"})
    bad = make_task(formatter=lambda row: {"inputs": row["q"]})
    with pytest.raises(DataError, match=r"must return \{'inputs', 'targets'\}"):
        bad.format({"q": "x", "a": "y"})
    wrong_type = make_task(formatter=lambda row: {"inputs": row["q"], "targets": 3})
    with pytest.raises(DataError, match="targets of type int, not str"):
        wrong_type.format({"q": "x"})


def test_callable_source_from_dotted_path():
    source = CallableSource(fn="json:loads")
    assert source.resolve() is json.loads
    with pytest.raises(TaskSpecError, match="is not 'module:attr'"):
        CallableSource(fn="json.loads")


def test_file_sources_read_each_format(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"q": "a", "a": "1"}\n\n{"q": "b", "a": "2"}\n')
    (tmp_path / "a.csv").write_text("q,a\nc,3\n")
    (tmp_path / "a.tsv").write_text("q\ta\nd\t4\n")
    (tmp_path / "a.txt").write_text("line one\n\nline two\n")
    assert FileSource(format="jsonl", files={"train": ["a.jsonl"]}, root=str(tmp_path)).load("train") == [
        {"q": "a", "a": "1"}, {"q": "b", "a": "2"}]
    csv_rows = FileSource(format="csv", files={"train": ["a.csv"]}, root=str(tmp_path)).load("train")
    assert csv_rows == [{"q": "c", "a": "3"}]
    tsv_rows = FileSource(format="tsv", files={"train": ["a.tsv"]}, root=str(tmp_path)).load("train")
    assert tsv_rows == [{"q": "d", "a": "4"}]
    assert FileSource(format="text", files={"train": [str(tmp_path / "a.txt")]}).load("train") == [
        {"text": "line one"}, {"text": "line two"}]


def test_file_source_errors_name_file_and_line(tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"q": 1}\n{not json}\n')
    (tmp_path / "latin.txt").write_bytes(b"caf\xe9\n")
    with pytest.raises(DataError, match=r"bad.jsonl:2: invalid JSON"):
        FileSource(format="jsonl", files={"train": ["bad.jsonl"]}, root=str(tmp_path)).load("train")
    with pytest.raises(DataError, match=r"latin.txt: not valid UTF-8 at byte 3"):
        FileSource(format="text", files={"train": ["latin.txt"]}, root=str(tmp_path)).load("train")
    with pytest.raises(DataError, match="does not exist"):
        FileSource(format="text", files={"train": ["missing.txt"]}, root=str(tmp_path)).load("train")
    with pytest.raises(DataError, match=r"no split 'test'; it has \['train'\]"):
        FileSource(format="text", files={"train": ["a.txt"]}).load("test")
    with pytest.raises(TaskSpecError, match="split 'train' lists no files"):
        FileSource(format="text", files={"train": []})


def test_hf_source_kwargs_and_offline_loading(tmp_path):
    source = HFSource(path="ybisk/piqa", revision="refs/convert/parquet", data_dir="default",
                      splits={"train": "train"})
    assert source.load_kwargs("train") == {
        "path": "ybisk/piqa", "split": "train", "revision": "refs/convert/parquet", "data_dir": "default"}
    glue = HFSource(path="nyu-mll/glue", config="mnli", splits={"train": "train", "validation": "validation_matched"})
    assert glue.load_kwargs("validation") == {"path": "nyu-mll/glue", "split": "validation_matched", "name": "mnli"}
    assert glue.describe() == "hf:nyu-mll/glue config=mnli"
    with pytest.raises(DataError, match="has no split 'test'"):
        glue.load_kwargs("test")
    fixture = tmp_path / "piqa.jsonl"
    fixture.write_text(json.dumps({"goal": "open a jar", "sol1": "twist", "sol2": "cut", "label": 0}) + "\n")
    rows = source.load("train", local_files=str(fixture))
    assert len(rows) == 1 and rows[0]["goal"] == "open a jar"


def test_hf_source_reads_a_data_mirror(tmp_path, monkeypatch):
    source = HFSource(path="nyu-mll/glue", config="mnli", splits={"train": "train", "validation": "validation_matched"})
    folder = tmp_path / "nyu-mll" / "glue" / "mnli"
    folder.mkdir(parents=True)
    (folder / "validation_matched.jsonl").write_text(json.dumps({"premise": "p", "hypothesis": "h", "label": 2}) + "\n")
    (folder / "train-00000-of-00002.parquet").write_bytes(b"")  # shards are found by name
    (folder / "train-00001-of-00002.parquet").write_bytes(b"")
    assert source.mirror_files("validation", tmp_path) == [str(folder / "validation_matched.jsonl")]
    assert [Path(p).name for p in source.mirror_files("train", tmp_path)] == [
        "train-00000-of-00002.parquet", "train-00001-of-00002.parquet"]
    monkeypatch.delenv("MIXLAB_DATA_MIRROR", raising=False)
    assert source.mirror_files("validation") is None  # no mirror configured
    monkeypatch.setenv("MIXLAB_DATA_MIRROR", str(tmp_path))
    rows = source.load("validation")
    assert rows[0] == {"premise": "p", "hypothesis": "h", "label": 2}
    assert HFSource(path="csv", data_files={"train": "x.csv"}, splits={"train": "train"}).mirror_files("train") is None
    assert HFSource(path="other/set", splits={"train": "train"}).mirror_files("train") is None


def test_files_named_by_url_are_read_from_the_mirror_with_the_same_builder(tmp_path, monkeypatch):
    url = "https://example.org/data/funql_train.tsv"
    source = HFSource(path="text", data_files={"train": url}, splits={"train": "train"})
    assert source.mirror_files("train", tmp_path) is None  # not copied yet
    copy = tmp_path / "example.org" / "data" / "funql_train.tsv"
    copy.parent.mkdir(parents=True)
    copy.write_text("what states border texas\tanswer(state(next_to_2(stateid('texas'))))\n")
    assert source.mirror_files("train", tmp_path) == [str(copy)]
    monkeypatch.setenv("MIXLAB_DATA_MIRROR", str(tmp_path))
    rows = source.load("train", cache_dir=str(tmp_path / "cache"))
    assert rows.column_names == ["text"]  # the text builder, not csv chosen by the .tsv suffix
    assert rows[0]["text"].startswith("what states border texas\t")
