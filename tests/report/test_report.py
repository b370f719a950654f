"""``mixlab report``: sections, embedded PNGs, table values, notes for missing pieces, the CLI."""

from __future__ import annotations

import base64
import json
import math
import platform
import re
import subprocess
import sys
from pathlib import Path

import pytest

import mixlab
from mixlab.cli import main
from mixlab.errors import DataError, NotARunError
from mixlab.report import SECTION_TITLES, collect_environment, render_report, write_environment, write_report
from tests.report.fakerun import (
    AFFINITY_CSV,
    TASKS,
    make_run,
    manifest,
    metrics_lines,
    png_size,
    task_loss,
    write_checkpoint,
)

IMG = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def table_rows(page: str, table_id: str) -> list[list[str]]:
    body = re.search(rf'<table id="{table_id}">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert body, f"no table {table_id}"
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)]


@pytest.fixture(scope="module")
def full(tmp_path_factory) -> tuple[Path, str]:
    run = make_run(tmp_path_factory.mktemp("full"))
    write_checkpoint(run, 60, truncate=True)
    (run / "affinity.csv").write_text(AFFINITY_CSV)
    path = write_report(run)
    return path, path.read_text(encoding="utf-8")


def test_report_has_every_section_and_five_valid_pngs(full):
    path, page = full
    assert path.name == "report.html"
    for anchor, title in SECTION_TITLES:
        assert f'<section id="{anchor}">\n<h2>{title}</h2>' in page
    images = IMG.findall(page)
    assert len(images) == 5  # mixture, loss/lr/throughput, per-task, per-family, affinity
    for encoded in images:
        width, height = png_size(base64.b64decode(encoded))
        assert width > 100 and height > 100
    assert page.count("<img") == 5


def test_report_is_self_contained(full):
    _, page = full
    assert "<script" not in page.lower()
    assert not re.search(r'(src|href)="(?!data:|#)', page)
    assert "http://" not in page and "https://" not in page


def test_summary_cards(full):
    _, page = full
    cards = dict(re.findall(r'<div class="k">(.*?)</div><div class="v">(.*?)</div>', page))
    final = {t: task_loss(t, 40) for t in TASKS}
    final_loss = (50 * final["toy/nli_a"] + 20 * final["toy/nli_b"] + 30 * final["toy/sum"]) / 100
    assert cards == {"mixture": "toy-mix", "parameters": "not available", "steps": "40",
                     "final loss": f"{final_loss:.4f}",
                     "tokens / s": "1,031",  # mean of 1000 + step over the last 10 logs (steps 22..40)
                     "tasks": "3", "families": "2", "checkpoints": "3"}
    assert "<h1>Run report: toy-run</h1>" in page


def test_per_task_and_per_family_tables(full):
    _, page = full
    x = 4 * math.exp(-40 / 15)
    assert table_rows(page, "task-rates") == [
        ["toy/nli_a", "NLI", "400,000", "50.000%", f"{1 + x:.4f}", "1.0.0", "mixlab-toy 0.3"],
        ["toy/nli_b", "NLI", "120,000", "20.000%", f"{1.5 + x:.4f}", "1.0.0", "mixlab-toy 0.3"],
        ["toy/sum", "SUM", "180,000", "30.000%", f"{2 + x:.4f}", "1.0.0", "mixlab-toy 0.3"],
    ]
    # NLI's loss is token-weighted: (50 * (1 + x) + 20 * (1.5 + x)) / 70 = 8/7 + x
    assert table_rows(page, "family-rates") == [["NLI", "2", "70.000%", f"{8 / 7 + x:.4f}"],
                                                ["SUM", "1", "30.000%", f"{2 + x:.4f}"]]
    assert f"{8 / 7 + x:.4f}" == "1.4208"


def test_config_env_and_checkpoints(full):
    _, page = full
    assert ["optimizer.name", "adafactor"] in table_rows(page, "config")
    env = dict(map(tuple, table_rows(page, "env")))
    assert env["torch"] == "2.13.0" and env["git_commit"] == "0123abcd"
    assert table_rows(page, "checkpoints") == [
        ["20", "step_0000020", "4", "4.5 KiB", "complete"],  # 3072 + 1024 + 100 + a 362-byte manifest
        ["40", "step_0000040", "4", "4.5 KiB", "complete"],
        ["60", "step_0000060", "4", "3.0 KiB", "incomplete: model.pt does not match its checksum: it has 1536 bytes, "
                                               "the manifest says 3072 (truncated or partly written)"],
    ]


def test_malformed_metric_lines_are_counted_and_quoted(full):
    _, page = full
    assert "2 malformed metric line(s) skipped" in page
    assert "line 4: {not json" in page and "line 6: {&quot;loss&quot;: 3.0}" in page
    assert "20 logged training steps and 4 evaluations, from step 2 to step 40" in page


def test_affinity_section_shows_scores(full):
    _, page = full
    assert [row[0] for row in table_rows(page, "affinity-scores")] == ["A", "B", "C"]
    assert "3 nodes, 6 transfer edges" in page


def test_empty_folder_is_not_a_run(tmp_path):
    with pytest.raises(NotARunError, match=r"not a run folder .*: it holds none of config\.yaml, metrics\.jsonl, "
                                           r"mixture_manifest\.json, env\.json, checkpoints/; fix: give the folder"):
        render_report(tmp_path)
    (tmp_path / "affinity.csv").write_text(AFFINITY_CSV)  # a report input, not a run file
    with pytest.raises(NotARunError, match="holds none of"):
        write_report(tmp_path)
    assert not (tmp_path / "report.html").exists()


def test_run_with_one_file_gives_notes_for_the_rest(tmp_path):
    run = make_run(tmp_path, config=False, manifest_file=False, metrics=False, checkpoints=())  # env.json only
    page = render_report(run)
    assert IMG.findall(page) == []
    for text in ("Mixture not available: no mixture_manifest.json in the run folder",
                 "Training curves not available: no metrics.jsonl in the run folder",
                 "Affinity not available: no results table",
                 "Config not available: no config.yaml in the run folder",
                 "No checkpoints: no checkpoints/ folder in the run folder"):
        assert text in page
    assert "Environment not available" not in page
    for _, title in SECTION_TITLES:
        assert f"<h2>{title}</h2>" in page


def test_metrics_without_manifest_still_plot_per_task(tmp_path):
    run = make_run(tmp_path, manifest_file=False, env=False, checkpoints=())
    page = render_report(run)
    assert len(IMG.findall(page)) == 2  # training curves and per-task loss
    assert "Per-family loss not available: no mixture manifest to map tasks to families." in page
    assert "No checkpoints: checkpoints/ folder" not in page


def test_broken_files_become_notes(tmp_path):
    run = make_run(tmp_path, config=False, metrics=False)
    (run / "config.yaml").write_text("steps: [1, 2\n")
    (run / "mixture_manifest.json").write_text("{truncated")
    (run / "metrics.jsonl").write_text("garbage\n[1]\n\n")
    (run / "env.json").write_text("[]")
    page = render_report(run, affinity=tmp_path / "missing.csv")
    assert "config.yaml could not be parsed" in page
    assert "Mixture not available: mixture_manifest.json could not be read (JSONDecodeError" in page
    assert "2 malformed metric line(s) skipped" in page
    assert "Training curves not available: metrics.jsonl has no valid records" in page
    assert "Environment not available: env.json holds a list, not a JSON object" in page
    assert f"Affinity not available: {tmp_path / 'missing.csv'} does not exist" in page


def test_yaml_config_is_read(tmp_path):
    run = make_run(tmp_path, config=False, metrics=False, checkpoints=())
    (run / "config.yaml").write_text("name: yaml-run\nbackend:\n  name: torch\n  precision: bf16\n")
    page = render_report(run)
    assert ["backend.precision", "bf16"] in table_rows(page, "config")
    assert "<h1>Run report: yaml-run</h1>" in page


def test_invalid_affinity_table_is_a_note(tmp_path):
    run = make_run(tmp_path, metrics=False, checkpoints=())
    bad = tmp_path / "bad.csv"
    bad.write_text("source,target,score,budget\nA,A,fifty,base\n")
    page = render_report(run, affinity=bad)
    assert "Affinity not available: bad.csv is not a valid results table" in page
    assert "score &#x27;fifty&#x27; is not a finite number" in page


def test_missing_run_folder_raises(tmp_path):
    with pytest.raises(DataError, match=r"run folder .*nowhere.* does not exist"):  # NotARunError is a DataError
        write_report(tmp_path / "nowhere")
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotARunError, match=r"not a run folder .*file': it is a file; fix"):
        write_report(tmp_path / "file")


def test_cli_writes_to_out(tmp_path, capsys):
    run = make_run(tmp_path, metrics=False, checkpoints=())
    out = tmp_path / "html" / "r.html"
    assert main(["report", str(run), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert main(["report", str(tmp_path / "nowhere")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_cli_refuses_an_empty_folder_in_one_line(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    done = subprocess.run([sys.executable, "-m", "mixlab", "report", str(empty)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines() == [f"mixlab report: error: not a run folder {str(empty)!r}: it holds none of "
                                        "config.yaml, metrics.jsonl, mixture_manifest.json, env.json, checkpoints/; "
                                        "fix: give the folder a training run wrote (mixlab train CONFIG --out RUN_DIR)"]
    assert not (empty / "report.html").exists()


def test_fake_metrics_have_the_loop_keys():
    """The synthetic run uses the keys ``mixlab.train.loop`` writes (guards the fixture itself)."""
    record = json.loads(metrics_lines()[0])
    assert {"step", "loss", "lr", "tokens_per_s", "task_loss", "task_tokens"} <= set(record)


def test_manifest_without_sizes_plots_rates_only(tmp_path):
    run = make_run(tmp_path, metrics=False, checkpoints=())
    data = manifest()
    for entry in data["tasks"]:
        del entry["num_examples"]
    (run / "mixture_manifest.json").write_text(json.dumps(data))
    page = render_report(run)
    assert "Task sizes not available (the manifest has no num_examples): the plot shows rates only." in page
    assert len(IMG.findall(page)) == 1
    assert table_rows(page, "task-rates")[0][:4] == ["toy/nli_a", "NLI", "–", "50.000%"]


def test_many_tasks_get_one_panel_per_family(tmp_path):
    tasks = {f"toy/t{i:02d}": ("ABC"[i % 3], 1 / 14, 1000 + i) for i in range(14)}
    data = {"name": "many", "tasks": [{"name": t, "family": f, "rate": r, "num_examples": n}
                                      for t, (f, r, n) in tasks.items()]}
    records = [{"step": s, "loss": 1.0, "task_loss": {t: 1.0 + i / 10 for i, t in enumerate(tasks)}} for s in (1, 2)]
    run = tmp_path / "run"
    run.mkdir()
    (run / "mixture_manifest.json").write_text(json.dumps(data))
    (run / "metrics.jsonl").write_text("\n".join(map(json.dumps, records)))
    page = render_report(run)
    assert "14 tasks, one panel per family (moving averages)" in page
    assert len(IMG.findall(page)) == 4
    assert table_rows(page, "family-rates") == [["A", "5", "35.714%", "1.6000"], ["B", "5", "35.714%", "1.7000"],
                                                ["C", "4", "28.571%", "1.6500"]]  # mean of 1.2, 1.5, 1.8, 2.1


def test_environment_written_by_a_run_is_shown(tmp_path):
    run = make_run(tmp_path, env=False, metrics=False, checkpoints=())
    path = write_environment(run, device="cuda:0", git_dir=tmp_path, world_size=2)
    env = json.loads(path.read_text())
    assert env["python"] == platform.python_version() and env["mixlab"] == mixlab.__version__
    assert env["git_commit"] is None and env["git_dirty"] is None  # tmp_path is not a repository
    rows = dict(map(tuple, table_rows(render_report(run), "env")))
    assert [rows[k] for k in ("python", "device", "world_size", "git_commit")] == [
        platform.python_version(), "cuda:0", "2", "null"]


def test_environment_records_the_git_commit(tmp_path):
    if subprocess.run(["git", "--version"], capture_output=True).returncode != 0:
        pytest.skip("git is not installed")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q",
                    "--allow-empty", "-m", "x"], check=True)
    env = collect_environment(git_dir=tmp_path)
    assert re.fullmatch(r"[0-9a-f]{40}", env["git_commit"]) and env["git_dirty"] is False
