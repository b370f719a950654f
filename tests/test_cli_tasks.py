"""``mixlab tasks``: table, JSON and one-line warnings for broken plugins."""

import json
import subprocess
import sys

from mixlab.cli import main


def test_tasks_json_lists_objects_with_the_documented_keys(capsys):
    assert main(["tasks", "--collection", "testgood", "--json"]) == 0
    captured = capsys.readouterr()
    rows = json.loads(captured.out)
    assert rows == [
        {"name": "testgood/from_module", "family": "Classification", "collection": "testgood", "num_examples": 2,
         "tags": []},
        {"name": "testgood/qa", "family": "QA", "collection": "testgood", "num_examples": 3, "tags": ["test"]},
        {"name": "testgood/qa_small", "family": "QA", "collection": "testgood", "num_examples": 1, "tags": ["test"]},
    ]
    warnings = [line for line in captured.err.splitlines() if line.startswith("warning: plugin")]
    assert any("'broken_raises'" in line and "database of tasks is on fire" in line for line in warnings)
    assert all(line.startswith("warning: plugin") for line in captured.err.splitlines())


def test_tasks_table_has_family_totals(capsys):
    assert main(["tasks", "--collection", "testgood"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["name", "family", "collection", "train", "size"]
    assert "testgood/qa_small" in out[4]
    totals = {line.split()[0]: line.split()[1:] for line in out[out.index("") + 2:]}
    assert totals == {"Classification": ["1", "2"], "QA": ["2", "4"], "total": ["3", "6"]}


def test_console_script_runs(tmp_path):
    exe = __import__("shutil").which("mixlab") or str(__import__("pathlib").Path(sys.executable).parent / "mixlab")
    result = subprocess.run([exe, "tasks", "--collection", "testgood", "--json"], capture_output=True, text=True)
    assert result.returncode == 0
    assert len(json.loads(result.stdout)) == 3
