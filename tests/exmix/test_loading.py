"""The HF ``datasets`` loading path, offline: each source's schema loaded from local JSON/parquet/text files."""

import json
from pathlib import Path

import mixlab_exmix
import pytest

datasets = pytest.importorskip("datasets")

FIXTURES = Path(__file__).parent / "fixtures"
ROWS = {r["task"]: r["row"] for r in map(json.loads, (FIXTURES / "rows.jsonl").read_text("utf-8").splitlines())}


@pytest.fixture(scope="module")
def tasks():
    return {t.name.split("/")[1]: t for t in mixlab_exmix.tasks()}


def _load(task, files, tmp_path):
    return task.source.load("train", local_files=str(files), cache_dir=str(tmp_path / "hf-cache"))


@pytest.mark.parametrize("short", ["glue_mnli", "kilt_nq", "gem_totto"])
def test_parquet_fixture_loads_as_dataset_and_formats(tasks, short, tmp_path):
    data = _load(tasks[short], FIXTURES / f"{short}.parquet", tmp_path)
    assert isinstance(data, datasets.Dataset) and len(data) == 2
    expected = tasks[short].format(ROWS[short])
    assert [tasks[short].format(row) for row in data] == [expected, expected]


@pytest.mark.parametrize("short", ["superglue_record", "rainbow_hellaswag", "gem_schema_guided_dialog", "squad",
                                   "quac", "dialoglue_sgd", "ir_geoquery", "ms_marco", "goemotions"])
def test_json_rows_of_nested_schemas_load_and_format(tasks, short, tmp_path):
    path = tmp_path / f"{short}.jsonl"
    path.write_text(json.dumps(ROWS[short]) + "\n", encoding="utf-8")
    data = _load(tasks[short], path, tmp_path)
    assert isinstance(data, datasets.Dataset) and len(data) == 1
    assert tasks[short].format(data[0]) == tasks[short].format(ROWS[short])


@pytest.mark.parametrize("short", ["dialoglue_top", "funql_atis", "styleptb_atp", "sentiment140"])
def test_text_builder_lines_format(tasks, short, tmp_path):
    path = tmp_path / f"{short}.txt"
    path.write_text(ROWS[short]["text"] + "\n", encoding="utf-8")
    data = _load(tasks[short], path, tmp_path)
    assert data.column_names == ["text"]
    assert tasks[short].format(data[0]) == tasks[short].format(ROWS[short])


def test_task_load_passes_local_files(tasks, tmp_path):
    data = tasks["glue_mnli"].load("train", local_files=str(FIXTURES / "glue_mnli.parquet"),
                                   cache_dir=str(tmp_path / "hf-cache"))
    assert data[0]["label"] == 1


def test_json_rows_with_differing_keys_load_as_one_schema(tasks, tmp_path):
    """datasets merges the keys of all rows, filling the missing ones with None; formatters must cope."""
    sgd, sql = dict(ROWS["dialoglue_sgd"]), dict(ROWS["ir_scholar"])
    sgd_bare = {"userInput": {"text": "yes please"}}
    sql_other = {"sentences": [{"text": "papers by author0", "variables": {"author0": "ng"}}],
                 "sql": ["SELECT p FROM w WHERE a = \"author0\" ;"]}
    for short, rows, last in [("dialoglue_sgd", [sgd, sgd_bare], {"inputs": "sgd slots requested: none utterance: "
                                                                  "yes please", "targets": "none"}),
                              ("ir_scholar", [sql, sql_other], {"inputs": "parse to sql: papers by ng",
                                                                "targets": 'SELECT p FROM w WHERE a = "ng" ;'})]:
        path = tmp_path / f"{short}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        data = _load(tasks[short], path, tmp_path)
        assert tasks[short].format(data[0]) == tasks[short].format(rows[0])
        assert tasks[short].format(data[1]) == last
