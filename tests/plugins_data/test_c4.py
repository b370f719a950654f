"""The C4 plugin: task metadata, the exact hub arguments, and offline loading from C4-shaped files."""

import json

import pytest

import mixlab

ROWS = [
    {"text": "Beginners BBQ Class Taking Place in Missoula!\nDo you want to get better at making delicious BBQ?",
     "timestamp": "2019-04-25 12:57:54", "url": "https://klyq.com/beginners-bbq-class-taking-place-in-missoula/"},
    {"text": "Discussion in 'Mac OS X Lion (10.7)' started by axboi87, Jan 20, 2012.",
     "timestamp": "2019-04-21 10:07:13",
     "url": "https://forums.macrumors.com/threads/restore-from-larger-disk.1311329/"},
    {"text": "Foil plaid lycra and spandex shortall with metallic slinky insets.",
     "timestamp": "2019-04-25 10:40:23",
     "url": "https://awishcometrue.com/Catalogs/Clearance/Tweens/V1960-Find-A-Sister"},
]


@pytest.fixture(scope="module")
def task():
    return mixlab.load_registry(plugins=["c4"], strict=True).get("c4/span_corruption")


def test_metadata(task):
    assert task.num_examples == {"train": 364_868_892, "validation": 364_608}
    assert (task.family, task.collection, task.self_supervised, task.text_field) == (
        "Self-supervised", "c4", True, "text")
    assert task.fingerprint == "c4/span_corruption@1.0.0"
    assert task.source.describe() == "hf:allenai/c4 config=en"


def test_provenance():
    registry = mixlab.load_registry(plugins=["c4"])
    assert registry.provenance("c4/span_corruption").distribution == "mixlab-c4"


def test_load_kwargs(task):
    assert task.source.load_kwargs("train") == {"path": "allenai/c4", "split": "train", "name": "en"}
    assert task.source.load_kwargs("validation") == {"path": "allenai/c4", "split": "validation", "name": "en"}
    with pytest.raises(mixlab.DataError, match=r"source 'allenai/c4' has no split 'test'; it has \['train', "):
        task.source.load_kwargs("test")


@pytest.mark.parametrize("suffix", [".json", ".txt"])
def test_offline_load_of_c4_shaped_files(task, tmp_path, suffix):
    path = tmp_path / f"c4-train.00000-of-01024{suffix}"
    if suffix == ".json":
        path.write_text("".join(json.dumps(row) + "\n" for row in ROWS), encoding="utf-8")
        expected = [row["text"] for row in ROWS]
    else:  # the text builder gives one row per line, column "text"
        path.write_text("".join(row["text"].replace("\n", " ") + "\n" for row in ROWS), encoding="utf-8")
        expected = [row["text"].replace("\n", " ") for row in ROWS]
    rows = task.source.load("train", local_files=str(path), cache_dir=str(tmp_path / "cache"))
    assert len(rows) == 3
    if suffix == ".json":
        assert set(rows.column_names) == {"text", "timestamp", "url"}
        assert rows[1]["url"] == ROWS[1]["url"]
    assert [task.format(rows[i]) for i in range(len(rows))] == [{"text": t} for t in expected]
